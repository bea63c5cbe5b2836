-- One page of entries in insertion order. KEYS as in put.lua. ARGV[1] the last insertion number
-- already read (0 at the start), ARGV[2] the highest number to read ('' on the first page: the
-- counter now, so a stream is a snapshot of what was stored when it started), ARGV[3] page size.
-- Returns { bound, last, scanned, field1, value1, field2, value2, ... }: `last` is the highest
-- insertion number this page looked at (the next page's ARGV[1]), `scanned` how many it looked at.
local bound = ARGV[2]
if bound == '' then
  bound = redis.call('GET', KEYS[3]) or '0'
end
local scored = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], bound, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local last = ARGV[1]
local reply = { bound, last, #scored / 2 }
for i = 1, #scored, 2 do
  last = scored[i + 1]
  local value = redis.call('HGET', KEYS[1], scored[i])
  if value then
    reply[#reply + 1] = scored[i]
    reply[#reply + 1] = value
  end
end
reply[2] = last
return reply
