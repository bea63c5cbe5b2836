-- Moves due entries of a delayed set onto their stream: ZRANGEBYSCORE, XADD, ZREM in one atomic
-- step, so concurrent promoters never promote an entry twice. Due time is the server's clock.
-- KEYS[1] delayed set, KEYS[2] stream
-- ARGV[1] most entries to move, ARGV[2] trim strategy ('' | 'MAXLEN' | 'MINID'), ARGV[3] threshold
-- Returns { entries moved, ms until the next entry is due (-1: none left) }.
local delayed, stream = KEYS[1], KEYS[2]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', string.format('%d', nowMs), 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local fields = cmsgpack.unpack(member)
  local args = { stream }
  if ARGV[2] ~= '' then
    args[2] = ARGV[2]; args[3] = '~'; args[4] = ARGV[3]
  end
  args[#args + 1] = '*'
  -- fields[1] is the uniqueness token, not an entry field.
  for f = 2, #fields do
    args[#args + 1] = fields[f]
  end
  redis.call('XADD', unpack(args))
  redis.call('ZREM', delayed, member)
end
local nextDue = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
local wait = -1
if #nextDue > 0 then
  wait = math.max(0, tonumber(nextDue[2]) - nowMs)
end
return { #due, wait }
