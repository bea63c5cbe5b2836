-- Replaces values pushed by other clients (not entries) in the processing list KEYS[1] by entries
-- wrapping them, in place (LPOS + LSET), so their id and delivery count are tracked from now on.
-- ARGV holds pairs: raw value, entry. Returns one flag per pair: 1 replaced, 0 not found.
local replaced = {}
for i = 1, #ARGV, 2 do
  local position = redis.call('LPOS', KEYS[1], ARGV[i])
  if position then
    redis.call('LSET', KEYS[1], position, ARGV[i + 1])
    replaced[#replaced + 1] = 1
  else
    replaced[#replaced + 1] = 0
  end
end
return replaced
