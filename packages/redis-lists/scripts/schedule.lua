-- Delayed publish: adds members (a nonce followed by an entry) to the delayed set KEYS[1], each
-- due at the server's time + its delay. ARGV holds pairs: delay ms, member. Returns the count.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i]), ARGV[i + 1])
end
return #ARGV / 2
