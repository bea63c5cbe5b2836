-- Keeps a live producer's lock from expiring: renews its time to live if it is still ours.
-- KEYS[1] lock key
-- ARGV[1] lock token, ARGV[2] lock time to live in ms
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
