--[[ fail-job: record a failed attempt; retry (now or after a backoff) or fail for good.
KEYS[1] job hash   KEYS[2] active zset of the worker   KEYS[3] worker hash
KEYS[4] running index   KEYS[5] failed index   KEYS[6] queued index   KEYS[7] queue zset
KEYS[8] notify list   KEYS[9] delayed zset   KEYS[10] delayed index   KEYS[11] events stream
KEYS[12] cancelled index   KEYS[13] log stream of the job (expires with the job when it ends)
ARGV[1] job id   ARGV[2] worker id   ARGV[3] now (ms)   ARGV[4] error JSON
ARGV[5] '1' if retryable   ARGV[6] backoff ms before the retry   ARGV[7] retention ms
ARGV[8] events maxlen
Returns 'failed' | 'queued' | 'delayed' | 'cancelled' (a cancel was requested), or '' when the worker no longer holds the job.
]]
--@include _helpers
--@include _failure
local id, now = ARGV[1], ARGV[3]
if redis.call('ZREM', KEYS[2], id) == 0 then return '' end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'job_count', 1) end
worker_settle(KEYS[3], KEYS[2], now)
return settle_failure(KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[12], KEYS[11],
  id, now, ARGV[4], ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7], ARGV[8], KEYS[13])
