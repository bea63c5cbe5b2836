-- Acquires or renews a partition lease: renews (PEXPIRE) when this token holds it, takes it
-- (SET NX PX) when nobody does.
-- KEYS[1] lease key
-- ARGV[1] token, ARGV[2] ttl ms
-- Returns 1 when this token holds the lease afterwards, else 0.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
