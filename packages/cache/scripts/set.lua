-- Stores a value and tells the key's waiters, atomically: a waiter that subscribed before this
-- runs either reads the value or receives it.
-- KEYS[1] value key
-- ARGV[1] encoded value, ARGV[2] time to live in ms ("0": none), ARGV[3] notification channel
-- (in KEYS[1]'s slot), ARGV[4] "publish" or "spublish" (Cluster)
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call(ARGV[4], ARGV[3], 'v' .. ARGV[1])
return 1
