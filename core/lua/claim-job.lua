--[[ claim-job: move the next queued job of a type to a worker's active set.
KEYS[1] queue zset   KEYS[2] active zset of the worker   KEYS[3] worker hash
KEYS[4] queued index   KEYS[5] running index   KEYS[6] events stream
ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] job key prefix   ARGV[4] events maxlen
Returns the claimed job's hash as a flat field/value array, or an empty array.
]]
--@include _helpers
local now = ARGV[2]
for _ = 1, 100 do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  local id = popped[1]
  local jobKey = ARGV[3] .. id
  if redis.call('HGET', jobKey, 'status') == 'queued' then
    redis.call('HSET', jobKey, 'status', 'running', 'worker_id', ARGV[1], 'started_at', now)
    redis.call('HINCRBY', jobKey, 'attempts', 1)
    local seq = redis.call('HGET', jobKey, 'seq')
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZADD', KEYS[5], seq, id)
    redis.call('ZADD', KEYS[2], now, id)
    if redis.call('EXISTS', KEYS[3]) == 1 then
      local st = redis.call('HGET', KEYS[3], 'status')
      if st == 'idle' or st == 'starting' then redis.call('HSET', KEYS[3], 'status', 'busy') end
      redis.call('HSET', KEYS[3], 'last_activity', now)
    end
    emit(KEYS[6], ARGV[4], 'job', id, 'status', 'running', 'worker', ARGV[1], 'ts', now)
    return redis.call('HGETALL', jobKey)
  end
  -- a job that vanished (expired) or was cancelled while queued is skipped
  redis.call('ZREM', KEYS[4], id)
end
worker_settle(KEYS[3], KEYS[2], now)
return {}
