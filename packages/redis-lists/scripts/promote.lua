-- Moves at most ARGV[1] due members of the delayed set KEYS[1] (score <= the server's time), the
-- earliest first, to the far end (left) of the queue KEYS[2], as a publish would, stripping the
-- ARGV[2]-byte nonce in front of each entry. Atomic: concurrent promoters never move a member
-- twice. Returns { promoted, ms until the next member is due or -1 when none is left }.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local nonce = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for i = 1, #due do
  redis.call('LPUSH', KEYS[2], string.sub(due[i], nonce + 1))
  redis.call('ZREM', KEYS[1], due[i])
end
local wait = -1
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nextDue[2] then wait = math.max(0, tonumber(nextDue[2]) - now) end
return { #due, wait }
