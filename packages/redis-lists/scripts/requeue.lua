-- nack({ requeue: true }): takes the exact entry ARGV[1] out of the processing list KEYS[1] and
-- pushes it, with its delivery count set to ARGV[2], to the consumption end (right) of the queue
-- KEYS[2], so it is the next one delivered. Returns 1, or 0 when the entry was no longer in the
-- processing list (the reaper returned it to the queue already).
local MAGIC = '\245RL1'
local function withCount(entry, count)
  if string.sub(entry, 1, 4) ~= MAGIC or #entry < 12 then return entry end
  return MAGIC .. string.format('%08x', count) .. string.sub(entry, 13)
end

if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], withCount(ARGV[1], tonumber(ARGV[2])))
return 1
