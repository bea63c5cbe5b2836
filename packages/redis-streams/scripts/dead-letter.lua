-- Dead-letters a pending entry: appends a copy to the subject's dead-letter stream with the reason
-- (`r`), the original subject (`s`), the dead-lettered entry id (`e`), the delivery count (`d`)
-- and the server time in microseconds (`w`, to merge the dead letters of several partitions), then XACKs the original, atomically. Does nothing unless the entry is pending with this
-- consumer.
-- KEYS[1] stream, KEYS[2] dead-letter stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] dead-letter MAXLEN (~), ARGV[4] subject, ARGV[5] entry
-- id, ARGV[6] reason, ARGV[7] delivery count
-- Returns 1 when dead-lettered, 0 when the data was trimmed (only acked), -1 when not pending.
local stream, dlq, group, consumer, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[5]
if #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0 then
  return -1
end
local found = redis.call('XRANGE', stream, id, id)
if #found == 0 then
  redis.call('XACK', stream, group, id)
  return 0
end
local args = { dlq, 'MAXLEN', '~', ARGV[3], '*' }
local fields = found[1][2]
for f = 1, #fields, 2 do
  local name = fields[f]
  if name ~= 'd' and name ~= 'r' and name ~= 's' and name ~= 'e' and name ~= 'q' and name ~= 'w' and name ~= 'g' then
    args[#args + 1] = name
    args[#args + 1] = fields[f + 1]
  end
end
args[#args + 1] = 'r'; args[#args + 1] = ARGV[6]
-- The group that gave up on it: a replay delivers it to that group only.
args[#args + 1] = 'g'; args[#args + 1] = group
args[#args + 1] = 's'; args[#args + 1] = ARGV[4]
args[#args + 1] = 'e'; args[#args + 1] = id
args[#args + 1] = 'd'; args[#args + 1] = ARGV[7]
local now = redis.call('TIME')
args[#args + 1] = 'w'; args[#args + 1] = now[1] .. string.format('%06d', tonumber(now[2]))
redis.call('XADD', unpack(args))
redis.call('XACK', stream, group, id)
return 1
