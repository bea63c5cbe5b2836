-- Delayed requeue: parks a copy of a pending entry in the stream's delayed sorted set (score = due
-- time in ms, from the server's clock) and XACKs the original, atomically. The copy's `d` field is
-- the given delivery count, its `q` field the id of the entry it copies, its `g` field the group it
-- is for (other groups skip it). Does nothing unless the entry is pending with this consumer.
-- KEYS[1] stream, KEYS[2] delayed set
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] deliveries, ARGV[5] delay ms
-- Returns the due time in ms, 0 when the entry was only acked (data trimmed), -1 when not pending.
local stream, delayed, group, consumer, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
if #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 0 then
  return -1
end
local found = redis.call('XRANGE', stream, id, id)
if #found == 0 then
  redis.call('XACK', stream, group, id)
  return 0
end
-- First element is a token that makes the member unique (entry ids are unique per stream).
local member = { id }
local fields = found[1][2]
for f = 1, #fields, 2 do
  if fields[f] ~= 'd' and fields[f] ~= 'q' and fields[f] ~= 'g' then
    member[#member + 1] = fields[f]
    member[#member + 1] = fields[f + 1]
  end
end
if ARGV[4] ~= '0' then
  member[#member + 1] = 'd'
  member[#member + 1] = ARGV[4]
end
member[#member + 1] = 'q'
member[#member + 1] = id
-- The copy is for this group only: every other group reading the stream acks it unseen.
member[#member + 1] = 'g'
member[#member + 1] = group
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[5])
redis.call('ZADD', delayed, string.format('%d', due), cmsgpack.pack(member))
redis.call('XACK', stream, group, id)
return due
