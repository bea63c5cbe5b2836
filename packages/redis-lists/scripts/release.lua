-- Returns entries that were fetched but never handed to the application (buffered at close, or
-- moved by a command whose reply was lost) from the processing list KEYS[1] to the consumption end
-- (right) of the queue KEYS[2], delivery count unchanged. ARGV lists them newest first, so the
-- oldest ends up next in line. An entry no longer in the processing list is skipped. Returns the
-- number returned.
local returned = 0
for i = 1, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    returned = returned + 1
  end
end
return returned
