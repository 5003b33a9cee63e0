--[[ list-jobs: a page of job summaries, newest first, skipping (and unindexing) expired ones.
KEYS:
  index       index zset (all jobs, or one status)
ARGV:
  cursor      exclusive upper seq bound ('+inf' for the first page)
  limit       page size
  type        worker type filter ('' for any)
  job_prefix  job key prefix
DERIVED:
  job_prefix .. <id>   the hash of each job of the index page
Returns: {next cursor or '', job1 summary, job2 summary, ...}: each a flat field/value list of
the fields a listing shows, never the whole hash, so a page stays small whatever the jobs hold:
progress_message is cut to 1 KiB, and payload (read for its label) and error come only when
they are at most 4 KiB and 16 KiB.
]]
local limit = tonumber(ARGV[2])
local maxScan = 5000
local FIELDS = {'id', 'seq', 'type', 'kind', 'status', 'priority', 'attempts', 'max_attempts', 'timeout_ms',
  'progress', 'progress_message', 'worker_id', 'created_at', 'started_at', 'finished_at', 'run_at', 'queued_at',
  'cold_start', 'cold_start_attempt', 'progress_metrics'}
local MAX_MESSAGE, MAX_PAYLOAD, MAX_ERROR = 1024, 4096, 16384

-- The first n bytes of s, not splitting a UTF-8 character.
local function clip(s, n)
  if #s <= n then return s end
  local cut = n
  while cut > 0 do
    local b = string.byte(s, cut + 1)
    if b < 128 or b >= 192 then break end
    cut = cut - 1
  end
  return string.sub(s, 1, cut)
end

local function summary(jobKey)
  local values = redis.call('HMGET', jobKey, unpack(FIELDS))
  local row = {}
  for i, field in ipairs(FIELDS) do
    local v = values[i]
    if v then
      if field == 'progress_message' then v = clip(v, MAX_MESSAGE) end
      row[#row + 1] = field
      row[#row + 1] = v
    end
  end
  if redis.call('HSTRLEN', jobKey, 'payload') <= MAX_PAYLOAD then
    row[#row + 1] = 'payload'
    row[#row + 1] = redis.call('HGET', jobKey, 'payload') or 'null'
  end
  local errLen = redis.call('HSTRLEN', jobKey, 'error')
  if errLen > MAX_ERROR then
    row[#row + 1] = 'error_too_large'
    row[#row + 1] = tostring(errLen)
  elseif errLen > 0 then
    row[#row + 1] = 'error'
    row[#row + 1] = redis.call('HGET', jobKey, 'error')
  end
  return row
end

local upper = ARGV[1]
if upper ~= '+inf' then upper = '(' .. upper end
local out = {''}
local scanned = 0
local lastSeq = nil
while scanned < maxScan do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], upper, '-inf', 'WITHSCORES', 'LIMIT', 0, 200)
  if #batch == 0 then return out end
  for i = 1, #batch, 2 do
    local id, seq = batch[i], batch[i + 1]
    scanned = scanned + 1
    lastSeq = seq
    local jobKey = ARGV[4] .. id
    if redis.call('EXISTS', jobKey) == 0 then
      redis.call('ZREM', KEYS[1], id)
    elseif ARGV[3] == '' or redis.call('HGET', jobKey, 'type') == ARGV[3] then
      table.insert(out, summary(jobKey))
      if #out - 1 >= limit then
        out[1] = seq
        return out
      end
    end
  end
  upper = '(' .. lastSeq
end
out[1] = lastSeq
return out
