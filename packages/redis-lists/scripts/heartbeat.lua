-- Registers or refreshes a consumer: sets its heartbeat key KEYS[1] to ARGV[4] (who it is) with a
-- time to live of ARGV[2] ms, and records it in the consumer registry KEYS[2] (a sorted set) scored
-- by the server's time + ARGV[3] ms: after that, once its heartbeat is gone and its processing list
-- is empty, the reaper may forget it. Returns 1 when the heartbeat was still alive, 0 when it had
-- expired (or never existed).
local previous = redis.call('SET', KEYS[1], ARGV[4], 'PX', tonumber(ARGV[2]), 'GET')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
if previous then return 1 end
return 0
