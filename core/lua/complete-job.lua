--[[ complete-job: record a job's result; only the worker that holds it may.
KEYS[1] job hash   KEYS[2] active zset of the worker   KEYS[3] worker hash
KEYS[4] running index   KEYS[5] succeeded index   KEYS[6] events stream
ARGV[1] job id   ARGV[2] worker id   ARGV[3] now (ms)   ARGV[4] result JSON
ARGV[5] retention ms   ARGV[6] events maxlen
Returns 1 when recorded, 0 when the worker no longer holds the job (requeued or cancelled).
]]
--@include _helpers
local id, now = ARGV[1], ARGV[3]
if redis.call('ZREM', KEYS[2], id) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'result', ARGV[4], 'finished_at', now, 'progress', 1)
redis.call('ZREM', KEYS[4], id)
redis.call('ZADD', KEYS[5], redis.call('HGET', KEYS[1], 'seq'), id)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'job_count', 1) end
worker_settle(KEYS[3], KEYS[2], now)
emit(KEYS[6], ARGV[6], 'job', id, 'status', 'succeeded', 'worker', ARGV[2], 'ts', now)
return 1
