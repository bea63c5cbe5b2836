-- Keeps the entries a live subscription holds from looking idle: XCLAIM ... JUSTID with min idle 0
-- resets their idle time without counting a delivery. Only entries still pending with this
-- consumer are touched, so an entry another consumer took over is never taken back.
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids
-- Returns the ids that are no longer pending with this consumer.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local args, lost = { stream, group, consumer, 0 }, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  if #redis.call('XPENDING', stream, group, id, id, 1, consumer) > 0 then
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
