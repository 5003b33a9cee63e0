--[[ requeue-worker-jobs: a worker is gone; give its jobs back. Its record is the WorkerStore's
(core/worker-store.ts: exited or forget), not this script's.
KEYS:
  active      active zset of the worker
  running     running index
  failed      failed index
  queued      queued index
  queue       queue zset
  notify      notify list
  delayed     delayed zset
  delayed_idx delayed index
  events      events stream
  cancelled   cancelled index
  models      the worker's set of held models (cleared: it holds none now)
  wnotify     the worker's own notify list (dropped)
ARGV:
  worker_id   worker id
  now         now (ms)
  error       error JSON for the interrupted attempt
  retention_ms  retention ms of failed jobs
  maxlen      events maxlen
  job_prefix  job key prefix
  log_prefix  job log stream prefix (a job that fails or is cancelled here: its log expires with it)
  holders_prefix  key prefix of a model's set of holders (the worker leaves each)
DERIVED:
  job_prefix .. <id>   the hash of each job the worker held (ids are known only inside)
  job_prefix .. <id>:progress   its progress history
  log_prefix .. <id>   its log stream
  holders_prefix .. <model>   the set of holders of each model the worker held
Returns: {requeued count, failed count}.
]]
--@include _helpers
--@include _failure
local now = ARGV[2]
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local requeued, failed = 0, 0
for _, id in ipairs(ids) do
  local jobKey = ARGV[6] .. id
  if redis.call('HGET', jobKey, 'status') == 'running' then
    local r = settle_failure(jobKey, KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8],
      KEYS[10], KEYS[9], id, now, ARGV[3], true, 0, ARGV[4], ARGV[5], ARGV[7] .. id, jobKey .. ':progress')
    if r == 'failed' or r == 'cancelled' then failed = failed + 1 else requeued = requeued + 1 end
  end
end
redis.call('DEL', KEYS[1])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[11])) do redis.call('SREM', ARGV[8] .. m, ARGV[1]) end
redis.call('DEL', KEYS[11], KEYS[12])
emit(KEYS[9], ARGV[5], 'worker', ARGV[1], 'status', 'gone', 'ts', now)
return {requeued, failed}
