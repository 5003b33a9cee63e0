--[[ report-progress: record a running job's progress, if this worker still holds it.
KEYS[1] job hash   KEYS[2] active zset of the worker   KEYS[3] events stream
ARGV[1] job id   ARGV[2] progress (number)   ARGV[3] message ('' for none)   ARGV[4] now (ms)
ARGV[5] events maxlen
Returns 1 when recorded, 0 when the worker no longer holds the job.
]]
--@include _helpers
if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2], 'progress_message', ARGV[3])
emit(KEYS[3], ARGV[5], 'job', ARGV[1], 'status', 'running', 'progress', ARGV[2], 'message', ARGV[3], 'ts', ARGV[4])
return 1
