-- Requeue in the republish model: for each (entry id, deliveries) pair still pending with this
-- consumer, append a copy of the entry whose `d` field (deliveries before the copy) is the given
-- count, whose `q` field names the entry it copies and whose `g` field names the group it is for
-- (other groups skip it), then XACK the original, in one atomic step. Entries no longer pending with this consumer
-- (acked, or reclaimed by another consumer) are left alone; entries whose data was trimmed away
-- are only acked.
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] trim strategy ('' | 'MAXLEN' | 'MINID'), ARGV[4] trim
-- threshold, ARGV[5..] entry id, deliveries, entry id, deliveries, ...
-- Returns the number of copies appended.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local appended = 0
for i = 5, #ARGV, 2 do
  local id, deliveries = ARGV[i], ARGV[i + 1]
  if #redis.call('XPENDING', stream, group, id, id, 1, consumer) > 0 then
    local found = redis.call('XRANGE', stream, id, id)
    if #found > 0 then
      local args = { stream }
      if ARGV[3] ~= '' then
        args[2] = ARGV[3]; args[3] = '~'; args[4] = ARGV[4]
      end
      args[#args + 1] = '*'
      local fields = found[1][2]
      for f = 1, #fields, 2 do
        if fields[f] ~= 'd' and fields[f] ~= 'q' and fields[f] ~= 'g' then
          args[#args + 1] = fields[f]
          args[#args + 1] = fields[f + 1]
        end
      end
      if deliveries ~= '0' then
        args[#args + 1] = 'd'
        args[#args + 1] = deliveries
      end
      -- Marks the entry as a copy (of this entry id), so history() lists each message once.
      args[#args + 1] = 'q'
      args[#args + 1] = id
      -- The copy is for this group only: every other group reading the stream acks it unseen.
      args[#args + 1] = 'g'
      args[#args + 1] = group
      redis.call('XADD', unpack(args))
      appended = appended + 1
    end
    redis.call('XACK', stream, group, id)
  end
end
return appended
