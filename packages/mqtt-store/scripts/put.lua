-- Write-ahead put of one entry. KEYS[1] hash (field -> encoded packet), KEYS[2] order (sorted set,
-- field scored by insertion number), KEYS[3] counter. ARGV[1] field (a messageId or a key),
-- ARGV[2] encoded value.
-- A field already present is replaced in place: its score, and so its position in the order, is
-- kept (a PUBREL replacing its PUBLISH stays where the PUBLISH was). A new field takes the next
-- insertion number. Returns 1 when the field is new, 0 when it replaced one.
local fresh = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if fresh == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return fresh
