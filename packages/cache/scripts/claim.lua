-- getOrSet's first step, in one round trip: the value when there is one, else the producer lock
-- when nobody holds it, else how long the current holder's lock still lasts.
-- KEYS[1] value key, KEYS[2] lock key
-- ARGV[1] lock token, ARGV[2] lock time to live in ms
-- Returns {1, value} | {2} (lock taken) | {3, lock pttl in ms}
local value = redis.call('GET', KEYS[1])
if value then
  return {1, value}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2}
end
return {3, redis.call('PTTL', KEYS[2])}
