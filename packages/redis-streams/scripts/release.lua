-- Ordered mode: hands entries a closing subscription fetched but never gave to the application
-- back to the group in place (no copy, so their order is kept). XCLAIM with IDLE makes them look
-- idle at once and RETRYCOUNT takes back the delivery that never happened, so the next owner
-- reclaims them immediately with the right delivery count.
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] idle ms to set, ARGV[4..] entry id, PEL count to set, ...
-- Returns the number of entries released.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local released = 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if #redis.call('XPENDING', stream, group, id, id, 1, consumer) > 0 then
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'IDLE', ARGV[3], 'RETRYCOUNT', ARGV[i + 1], 'JUSTID')
    released = released + 1
  end
end
return released
