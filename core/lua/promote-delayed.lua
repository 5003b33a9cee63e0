--[[ promote-delayed: move jobs whose backoff is over from the delayed set to their queues.
A promoted job's queued_at is its run_at: it could have run from then on (its queue wait counts from there).
KEYS:
  delayed     delayed zset
  delayed_idx delayed index
  queued      queued index
  events      events stream
ARGV:
  now         now (ms)
  job_prefix  job key prefix
  queue_prefix  queue key prefix
  notify_prefix  notify key prefix
  limit       at most this many jobs
  maxlen      events maxlen
DERIVED:
  job_prefix .. <id>   the hash of each due job
  queue_prefix .. <type>   the queue of each due job's type
  notify_prefix .. <type>   the notify list of each due job's type
Returns: the number of jobs moved.
]]
--@include _helpers
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  local jobKey = ARGV[2] .. id
  local job = redis.call('HMGET', jobKey, 'status', 'type', 'priority', 'seq', 'run_at')
  if job[1] == 'delayed' then
    redis.call('HSET', jobKey, 'status', 'queued', 'queued_at', job[5] or ARGV[1])
    redis.call('HDEL', jobKey, 'run_at')
    redis.call('ZADD', ARGV[3] .. job[2], queue_score(job[3], job[4]), id)
    redis.call('ZADD', KEYS[3], job[4], id)
    redis.call('LPUSH', ARGV[4] .. job[2], '1')
    redis.call('LTRIM', ARGV[4] .. job[2], 0, 999)
    emit(KEYS[4], ARGV[6], 'job', id, 'status', 'queued', 'type', job[2], 'ts', ARGV[1])
  end
end
return #due
