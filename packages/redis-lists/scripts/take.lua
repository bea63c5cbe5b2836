-- Moves up to ARGV[1] entries from the consumption end (right) of the queue KEYS[1] to the head
-- (left) of the processing list KEYS[2], oldest first, and returns them in that order. Never
-- blocks: an empty queue returns an empty array (the caller then blocks in BLMOVE).
local taken = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not entry then break end
  taken[i] = entry
end
return taken
