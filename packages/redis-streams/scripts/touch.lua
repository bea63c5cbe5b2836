-- Keeps the entries a live subscription holds from looking idle: XCLAIM ... JUSTID with min idle 0
-- resets their idle time without counting a delivery. Only entries still pending with this
-- consumer are touched, so an entry another consumer took over is never taken back.
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] lowest id, ARGV[4] highest id, ARGV[5..] entry ids
-- Returns the ids that are no longer pending with this consumer.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local wanted = #ARGV - 4
-- One ranged XPENDING finds which of the ids this consumer still owns; when the consumer owns
-- more entries in the range than that call returns, fall back to asking per id.
local limit = wanted * 2 + 16
local owned = {}
local pending = redis.call('XPENDING', stream, group, ARGV[3], ARGV[4], limit, consumer)
local exact = #pending < limit
for _, entry in ipairs(pending) do
  owned[entry[1]] = true
end
local args, lost = { stream, group, consumer, 0 }, {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local mine = owned[id]
  if not mine and not exact then
    mine = #redis.call('XPENDING', stream, group, id, id, 1, consumer) > 0
  end
  if mine then
    args[#args + 1] = id
  else
    lost[#lost + 1] = id
  end
end
if #args > 4 then
  args[#args + 1] = 'JUSTID'
  redis.call('XCLAIM', unpack(args))
end
return lost
