-- Ordered mode: registers a live member of a group (score = last heartbeat on the server's clock),
-- forgets members silent for longer than the ttl, and lists the rest, so each member can work out
-- its share of a subject's partitions from its rank. ARGV[3] = '1' removes the member instead.
-- KEYS[1] members sorted set
-- ARGV[1] member, ARGV[2] ttl ms, ARGV[3] '1' to leave
-- Returns the live members' names (in score order; callers sort them by name for ranks).
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], string.format('%d', nowMs), ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', nowMs - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZRANGE', KEYS[1], 0, -1)
