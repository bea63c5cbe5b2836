-- Gives back the producer lock after a failed producer, if it is still ours, and tells the
-- waiters so that one of them can produce at once instead of waiting for the lock to expire.
-- KEYS[1] lock key
-- ARGV[1] lock token, ARGV[2] channel, ARGV[3] "publish" or "spublish"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call(ARGV[3], ARGV[2], 'r')
  return 1
end
return 0
