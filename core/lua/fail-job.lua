--[[ fail-job: record a failed attempt; retry (now or after a backoff) or fail for good.
KEYS:
  job         the job hash
  active      active zset of the worker
  worker      worker hash
  running     running index
  failed      failed index
  queued      queued index
  queue       queue zset
  notify      notify list
  delayed     delayed zset
  delayed_idx delayed index
  events      events stream
  cancelled   cancelled index
  logs        log stream of the job (expires with the job when it ends)
  progress    progress history stream of the job (expires with the job when it ends)
ARGV:
  job_id      job id
  worker_id   worker id
  now         now (ms)
  error       error JSON
  retryable   '1' if retryable
  backoff_ms  backoff ms before the retry
  retention_ms  retention ms
  maxlen      events maxlen
Returns: 'failed' | 'queued' | 'delayed' | 'cancelled' (a cancel was requested), or '' when the
worker no longer holds the job (an outcome, not an error).
]]
--@include _helpers
--@include _failure
local id, now = ARGV[1], ARGV[3]
if redis.call('ZREM', KEYS[2], id) == 0 then return '' end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'job_count', 1) end
worker_settle(KEYS[3], KEYS[2], now)
return settle_failure(KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[12], KEYS[11],
  id, now, ARGV[4], ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7], ARGV[8], KEYS[13], KEYS[14])
