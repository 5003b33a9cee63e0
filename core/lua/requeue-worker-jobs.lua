--[[ requeue-worker-jobs: a worker is gone; give its jobs back and forget the worker.
KEYS[1] active zset of the worker   KEYS[2] worker hash   KEYS[3] workers set
KEYS[4] workers-of-type set   KEYS[5] running index   KEYS[6] failed index   KEYS[7] queued index
KEYS[8] queue zset   KEYS[9] notify list   KEYS[10] delayed zset   KEYS[11] delayed index
KEYS[12] events stream   KEYS[13] cancelled index
ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] error JSON for the interrupted attempt
ARGV[4] retention ms of failed jobs   ARGV[5] events maxlen   ARGV[6] job key prefix
ARGV[7] '1' to delete the worker record, '0' to keep it (the caller updates it)
ARGV[8] job log stream prefix (a job that fails or is cancelled here: its log expires with it)
Returns {requeued count, failed count}.
]]
--@include _helpers
--@include _failure
local now = ARGV[2]
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local requeued, failed = 0, 0
for _, id in ipairs(ids) do
  local jobKey = ARGV[6] .. id
  if redis.call('HGET', jobKey, 'status') == 'running' then
    local r = settle_failure(jobKey, KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11],
      KEYS[13], KEYS[12], id, now, ARGV[3], true, 0, ARGV[4], ARGV[5], ARGV[8] .. id)
    if r == 'failed' or r == 'cancelled' then failed = failed + 1 else requeued = requeued + 1 end
  end
end
redis.call('DEL', KEYS[1])
if ARGV[7] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
end
emit(KEYS[12], ARGV[5], 'worker', ARGV[1], 'status', 'gone', 'ts', now)
return {requeued, failed}
