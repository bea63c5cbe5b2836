-- nack({ requeue: false }) and max-deliveries: takes the exact entry ARGV[1] out of the processing
-- list KEYS[1] and pushes the dead letter ARGV[2] (the entry with reason, subject and count
-- headers) to the head (left) of the dead-letter list KEYS[2], trimmed to ARGV[3] entries.
-- With ARGV[4] == 'unheld' (simple mode: the entry is in no list), only the push and trim happen.
-- Returns 1, or 0 when the entry was no longer in the processing list (nothing written).
if ARGV[4] ~= 'unheld' and redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1
