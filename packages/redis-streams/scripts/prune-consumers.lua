-- Deletes consumers of a group that hold no pending entries, atomically with the check, so a
-- consumer with pending entries is never deleted (XGROUP DELCONSUMER would drop them from the PEL).
-- KEYS[1] stream
-- ARGV[1] group, ARGV[2] least idle ms, ARGV[3] only this consumer ('' = any), ARGV[4] never this one
-- Returns the names deleted.
local stream, group, minIdle, only, keep = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', stream, group)
if not ok then
  return {}
end
local deleted = {}
for _, info in ipairs(consumers) do
  local name, pending, idle
  for f = 1, #info, 2 do
    if info[f] == 'name' then name = info[f + 1]
    elseif info[f] == 'pending' then pending = info[f + 1]
    elseif info[f] == 'idle' then idle = info[f + 1] end
  end
  if name ~= keep and pending == 0 and idle >= minIdle and (only == '' or only == name) then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, name)
    deleted[#deleted + 1] = name
  end
end
return deleted
