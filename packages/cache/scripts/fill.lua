-- getOrSet's last step for the lock holder: stores the produced value, tells the waiters and
-- gives the lock back if it is still ours (it may have expired and been taken over meanwhile).
-- KEYS[1] value key, KEYS[2] lock key
-- ARGV[1] encoded value, ARGV[2] time to live in ms ("0": none), ARGV[3] channel,
-- ARGV[4] "publish" or "spublish", ARGV[5] lock token
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
if redis.call('GET', KEYS[2]) == ARGV[5] then
  redis.call('DEL', KEYS[2])
end
redis.call(ARGV[4], ARGV[3], 'v' .. ARGV[1])
return 1
