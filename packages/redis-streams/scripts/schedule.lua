-- Delayed publish: parks a new entry in the stream's delayed sorted set, due `delay` ms from the
-- server's clock (the promoter uses the same clock).
-- KEYS[1] delayed set
-- ARGV[1] delay ms, ARGV[2] unique token, ARGV[3..] entry fields (name, value, ...)
-- Returns the due time in ms.
local member = {}
for i = 2, #ARGV do
  member[#member + 1] = ARGV[i]
end
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], string.format('%d', due), cmsgpack.pack(member))
return due
