--[[ append-logs: append a job's log lines to its stream, keep the stream within the per-job
cap (oldest lines go first), and let it expire with the job.
The job hash keeps `log_bytes` (bytes kept) and `log_cut` (lines cut so far).
KEYS:
  logs        log stream of the job
  job         the job hash
ARGV:
  max_lines   most lines kept
  max_bytes   most bytes kept (sum of the texts)
  safety_ttl_ms  TTL ms of the stream while the job hash has none (a running job: a safety net,
              renewed by every append; the scripts that finish a job give the stream the job's own TTL)
  ...lines    pairs of stream name ('stdout', 'stderr', 'info', ...) and text
Returns: {lines appended (0 when the job no longer exists: the lines are dropped), lines cut now}.
]]
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 0} end
local maxLines, maxBytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local bytes = 0
if redis.call('EXISTS', KEYS[1]) == 1 then bytes = tonumber(redis.call('HGET', KEYS[2], 'log_bytes') or '0') end
local appended = 0
for i = 4, #ARGV - 1, 2 do
  redis.call('XADD', KEYS[1], '*', 's', ARGV[i], 't', ARGV[i + 1])
  bytes = bytes + #ARGV[i + 1]
  appended = appended + 1
end
local function text_bytes(flat)
  for j = 1, #flat - 1, 2 do
    if flat[j] == 't' then return #flat[j + 1] end
  end
  return 0
end
local len = redis.call('XLEN', KEYS[1])
local cut = 0
if len > maxLines or bytes > maxBytes then
  -- Walk from the oldest line until what is left fits; trim everything before it in one XTRIM.
  local cursor, keepFrom = '-', nil
  local count = math.max(len - maxLines, 0) + 16
  while keepFrom == nil do
    local batch = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', count)
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      if len <= maxLines and bytes <= maxBytes then
        keepFrom = e[1]
        break
      end
      bytes = bytes - text_bytes(e[2])
      len = len - 1
      cut = cut + 1
    end
    cursor = '(' .. batch[#batch][1]
    count = math.min(count * 2, 1000)
  end
  if keepFrom then
    redis.call('XTRIM', KEYS[1], 'MINID', keepFrom)
  else
    redis.call('DEL', KEYS[1])
    bytes = 0
  end
  redis.call('HINCRBY', KEYS[2], 'log_cut', cut)
end
redis.call('HSET', KEYS[2], 'log_bytes', bytes)
if redis.call('EXISTS', KEYS[1]) == 1 then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
return {appended, cut}
