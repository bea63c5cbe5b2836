-- A closed consumer leaves: when its processing list KEYS[2] is empty, deletes its heartbeat
-- KEYS[1] and removes ARGV[1] from the registry KEYS[3] and returns 1. Otherwise (deliveries it
-- handed out are still unsettled) it refreshes the heartbeat one last time for ARGV[2] ms, so late
-- acks still work that long, after which the reaper returns what is left; returns 0.
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', tonumber(ARGV[2]))
return 0
