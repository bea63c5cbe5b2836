-- Moves dead letters back onto their stream, oldest first: each copy loses its dead-letter fields
-- (reason, subject, entry id, time) and its delivery count, so it is delivered as new; XADD and XDEL
-- happen in one atomic step. A copy keeps its `g` field (the group that dead-lettered it), so it is
-- delivered again to that group only.
-- KEYS[1] dead-letter stream, KEYS[2] stream
-- ARGV[1] most entries to move, ARGV[2] trim strategy ('' | 'MAXLEN' | 'MINID'), ARGV[3] threshold
-- Returns the number of entries moved.
local dlq, stream = KEYS[1], KEYS[2]
local entries = redis.call('XRANGE', dlq, '-', '+', 'COUNT', tonumber(ARGV[1]))
for _, entry in ipairs(entries) do
  local args = { stream }
  if ARGV[2] ~= '' then
    args[2] = ARGV[2]; args[3] = '~'; args[4] = ARGV[3]
  end
  args[#args + 1] = '*'
  local fields = entry[2]
  for f = 1, #fields, 2 do
    local name = fields[f]
    if name ~= 'd' and name ~= 'r' and name ~= 's' and name ~= 'e' and name ~= 'q' and name ~= 'w' then
      args[#args + 1] = name
      args[#args + 1] = fields[f + 1]
    end
  end
  redis.call('XADD', unpack(args))
  redis.call('XDEL', dlq, entry[1])
end
return #entries
