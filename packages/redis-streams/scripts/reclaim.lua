-- Takes over entries idle for at least min-idle ms (their consumer crashed or went away) with
-- XAUTOCLAIM, and reports each one's delivery count: the `d` field (deliveries before a requeued
-- copy) plus the PEL's count, which XAUTOCLAIM just incremented. Entries that would exceed
-- max-deliveries are dead-lettered (reason `max-deliveries`) and acked instead of returned.
-- Entries whose data was trimmed away are acked (Redis 7 already drops them from the PEL and
-- lists them in XAUTOCLAIM's third reply element; 6.2 returns them with no fields).
-- KEYS[1] stream, KEYS[2] dead-letter stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle ms, ARGV[4] cursor, ARGV[5] count,
-- ARGV[6] max deliveries (0: unlimited), ARGV[7] subject, ARGV[8] dead-letter MAXLEN (~)
-- Returns { next cursor, { { id, fields, delivery count }, ... }, { deleted ids }, dead-lettered }.
local stream, dlq, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local maxDeliveries = tonumber(ARGV[6])
local reply = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local claimed, deleted, deadLettered = {}, {}, 0
if reply[3] then
  for _, id in ipairs(reply[3]) do
    redis.call('XACK', stream, group, id)
    deleted[#deleted + 1] = id
  end
end
for _, entry in ipairs(reply[2]) do
  local id, fields = entry[1], entry[2]
  if not fields then
    redis.call('XACK', stream, group, id)
    deleted[#deleted + 1] = id
  else
    local before = 0
    for f = 1, #fields, 2 do
      if fields[f] == 'd' then before = tonumber(fields[f + 1]) or 0 end
    end
    local pel = redis.call('XPENDING', stream, group, id, id, 1)
    local count = before + ((pel[1] and pel[1][4]) or 1)
    if maxDeliveries > 0 and count > maxDeliveries then
      local args = { dlq, 'MAXLEN', '~', ARGV[8], '*' }
      for f = 1, #fields, 2 do
        local name = fields[f]
        if name ~= 'd' and name ~= 'r' and name ~= 's' and name ~= 'e' and name ~= 'q' and name ~= 'w' and name ~= 'g' then
          args[#args + 1] = name
          args[#args + 1] = fields[f + 1]
        end
      end
      args[#args + 1] = 'r'; args[#args + 1] = 'max-deliveries'
      args[#args + 1] = 'g'; args[#args + 1] = group
      args[#args + 1] = 's'; args[#args + 1] = ARGV[7]
      args[#args + 1] = 'e'; args[#args + 1] = id
      args[#args + 1] = 'd'; args[#args + 1] = tostring(count - 1)
      local now = redis.call('TIME')
      args[#args + 1] = 'w'; args[#args + 1] = now[1] .. string.format('%06d', tonumber(now[2]))
      redis.call('XADD', unpack(args))
      redis.call('XACK', stream, group, id)
      deadLettered = deadLettered + 1
    else
      claimed[#claimed + 1] = { id, fields, count }
    end
  end
end
return { reply[1], claimed, deleted, deadLettered }
