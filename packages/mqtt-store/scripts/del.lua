-- Removes one entry and returns its value, or nil when there was none. KEYS as in put.lua;
-- ARGV[1] the field. An emptied store leaves no key behind: the counter goes with the last entry
-- (numbering restarts at 1, which keeps the order since nothing is left to order against).
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then
  return false
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3])
end
return value
