--[[ expire-queued-jobs: end the queued jobs whose queued TTL passed before they ever started.
Only due index entries are read: a job that started (or ended) before its deadline just leaves the index here.
KEYS:
  expiring    expiry index (zset: job id by deadline)
  queued      queued index
  expired     expired index
  events      events stream
ARGV:
  now         now (ms)
  job_prefix  job key prefix
  queue_prefix  queue key prefix
  limit       at most this many index entries
  maxlen      events maxlen
  retention_ms  retention ms of an expired job
DERIVED:
  job_prefix .. <id>   the hash of each due job
  job_prefix .. <id>:progress   its progress history (given the job's retention)
  queue_prefix .. <type>   the queue of each due job's type
Returns: {id1, type1, id2, type2, ...} of the jobs that expired.
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
