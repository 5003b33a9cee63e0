--[[ report-progress: record a running job's progress, if this worker still holds it, and
append its points to the job's capped progress history.
KEYS:
  job         the job hash
  active      active zset of the worker
  events      events stream
  progress    progress history stream of the job (the scripts that finish a job expire it with the job)
ARGV:
  job_id      job id
  now         now (ms)
  maxlen      events maxlen
  cap         history cap (points)
  ...points   the points since the last call, oldest first, four values each:
              ts (ms), progress, message ('' for none), metrics JSON ('' for none)
Returns: 1 when recorded, 0 when the worker no longer holds the job.

History: point n (counted from 0 over the job's life, in the job hash's history_points)
is kept when n % stride == 0; the newest point is always kept too, and replaced by the
next one when it is off the stride. When the stream holds more than the cap, the stride
doubles and the points off it are deleted: a long run keeps its whole shape at an even
spacing, in at most cap points. Appending is O(1); the O(cap) thinning happens once per
cap/2 kept points.
The job hash gets progress, progress_message, and progress_metrics (the newest metrics).
]]
--@include _helpers
if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then return 0 end
local hist, cap = KEYS[4], tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'history_points', 'history_stride')
local n, stride = tonumber(state[1] or '0'), tonumber(state[2] or '1')

-- an entry's fields start with 'n', <n>
local function off_stride(entry) return tonumber(entry[2][2]) % stride ~= 0 end

local function thin()
  stride = stride * 2
  local entries = redis.call('XRANGE', hist, '-', '+')
  for i = 1, #entries - 1 do -- the newest point stays
    if off_stride(entries[i]) then redis.call('XDEL', hist, entries[i][1]) end
  end
end

local progress, message, metrics
for i = 5, #ARGV - 3, 4 do
  local newest = redis.call('XREVRANGE', hist, '+', '-', 'COUNT', 1)[1]
  if newest and off_stride(newest) then redis.call('XDEL', hist, newest[1]) end
  progress, message = ARGV[i + 1], ARGV[i + 2]
  if ARGV[i + 3] ~= '' then
    metrics = ARGV[i + 3]
    redis.call('XADD', hist, '*', 'n', n, 'ts', ARGV[i], 'progress', progress, 'message', message, 'metrics', metrics)
  else
    redis.call('XADD', hist, '*', 'n', n, 'ts', ARGV[i], 'progress', progress, 'message', message)
  end
  n = n + 1
  if redis.call('XLEN', hist) > cap then thin() end
end
if progress == nil then return 1 end
redis.call('HSET', KEYS[1], 'progress', progress, 'progress_message', message, 'history_points', n, 'history_stride', stride)
if metrics then
  redis.call('HSET', KEYS[1], 'progress_metrics', metrics)
  emit(KEYS[3], ARGV[3], 'job', ARGV[1], 'status', 'running', 'progress', progress, 'message', message, 'ts', ARGV[2], 'metrics', metrics)
else
  emit(KEYS[3], ARGV[3], 'job', ARGV[1], 'status', 'running', 'progress', progress, 'message', message, 'ts', ARGV[2])
end
return 1
