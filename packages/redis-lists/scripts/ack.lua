-- Acks a batch: removes each exact entry in ARGV (one occurrence, searched from the oldest end)
-- from the processing list KEYS[1]. Returns one flag per entry: 1 removed, 0 not there (the reaper
-- had returned it to the queue).
local removed = {}
for i = 1, #ARGV do
  removed[i] = redis.call('LREM', KEYS[1], -1, ARGV[i])
end
return removed
