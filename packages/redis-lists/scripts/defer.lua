-- nack({ requeue: true, delayMs }): takes the exact entry ARGV[1] out of the processing list
-- KEYS[1] and parks it, with its delivery count set to ARGV[2], in the delayed set KEYS[2], scored
-- by the server's time + ARGV[3] ms. The member is the unique nonce ARGV[4] followed by the entry,
-- so two equal entries never collapse into one member. Returns 1, or 0 when the entry was no
-- longer in the processing list.
local MAGIC = '\245RL1'
local function withCount(entry, count)
  if string.sub(entry, 1, 4) ~= MAGIC or #entry < 12 then return entry end
  return MAGIC .. string.format('%08x', count) .. string.sub(entry, 13)
end

if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4] .. withCount(ARGV[1], tonumber(ARGV[2])))
return 1
