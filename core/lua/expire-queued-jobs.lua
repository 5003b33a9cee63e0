--[[ expire-queued-jobs: end the queued jobs whose queued TTL passed before they ever started.
KEYS[1] expiry index (zset: job id by deadline)   KEYS[2] queued index   KEYS[3] expired index
KEYS[4] events stream
ARGV[1] now (ms)   ARGV[2] job key prefix   ARGV[3] queue key prefix   ARGV[4] at most this many index entries
ARGV[5] events maxlen   ARGV[6] retention ms of an expired job
Queue keys are derived from each job's type (prefix .. type), as promote-delayed does. Only due index
entries are read: a job that started (or ended) before its deadline just leaves the index here.
Returns {id1, type1, id2, type2, ...} of the jobs that expired.
]]
--@include _helpers
local now = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local jobKey = ARGV[2] .. id
  local job = redis.call('HMGET', jobKey, 'status', 'type', 'seq', 'attempts', 'created_at', 'expires_at')
  if job[1] == 'queued' and tonumber(job[4]) == 0 then
    local ttl = math.floor((tonumber(job[6] or now) - tonumber(job[5] or now)) / 1000 + 0.5)
    redis.call('ZREM', ARGV[3] .. job[2], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZADD', KEYS[3], job[3], id)
    redis.call('HSET', jobKey, 'status', 'expired', 'finished_at', now, 'error', cjson.encode({
      type = 'expired',
      message = 'no worker of type ' .. job[2] .. ' started this job within its queued TTL of ' .. ttl ..
        ' s (queued_ttl_s); GET /workers/status shows why the type is not taking jobs, then submit it again',
      retryable = false,
    }))
    redis.call('PEXPIRE', jobKey, ARGV[6])
    redis.call('PEXPIRE', jobKey .. ':progress', ARGV[6])
    emit(KEYS[4], ARGV[5], 'job', id, 'status', 'expired', 'type', job[2], 'ts', now)
    table.insert(out, id)
    table.insert(out, job[2])
  end
end
return out
