-- Returns the processing list KEYS[2] of consumer ARGV[1] to the consumption end (right) of the
-- queue KEYS[3], in order (the oldest is delivered next), each entry's delivery count + 1: they were
-- delivered once more, to a consumer that never settled them. Only when its heartbeat KEYS[1] has
-- expired, unless ARGV[2] == 'force' (a consumer taking back its own leftovers on start). A dead
-- consumer with nothing left to return is removed from the registry KEYS[4] once its score (the
-- time after which it may be forgotten) has passed. Returns the number of entries returned, or -1
-- when the consumer is alive.
local MAGIC = '\245RL1'
local function withCount(entry, count)
  if string.sub(entry, 1, 4) ~= MAGIC or #entry < 12 then return entry end
  return MAGIC .. string.format('%08x', count) .. string.sub(entry, 13)
end
local function countOf(entry)
  if string.sub(entry, 1, 4) ~= MAGIC or #entry < 12 then return 0 end
  return tonumber(string.sub(entry, 5, 12), 16) or 0
end

local force = ARGV[2] == 'force'
if not force and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
-- The processing list holds the newest entry on the left: pushing from left to right onto the
-- right end of the queue leaves the oldest rightmost, next in line.
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #entries do
  local entry = entries[i]
  redis.call('RPUSH', KEYS[3], withCount(entry, math.min(countOf(entry) + 1, 4294967295)))
end
if #entries > 0 then
  redis.call('DEL', KEYS[2])
elseif not force then
  local forgetAt = redis.call('ZSCORE', KEYS[4], ARGV[1])
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if forgetAt and tonumber(forgetAt) <= now then redis.call('ZREM', KEYS[4], ARGV[1]) end
end
return #entries
