--[[ claim-job: move up to N queued jobs of a type to a worker's active set.
KEYS[1] queue zset   KEYS[2] active zset of the worker   KEYS[3] worker hash
KEYS[4] queued index   KEYS[5] running index   KEYS[6] events stream   KEYS[7] notify list
ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] job key prefix   ARGV[4] events maxlen
ARGV[5] at most this many jobs (the worker's free slots)
Returns an array of claimed jobs, each a flat field/value array; empty when the queue is.
When the queue is left empty its wake-up tokens are dropped: they only ever mean
"there may be a job", and stale ones would wake idle workers for nothing.
]]
--@include _helpers
local now = ARGV[2]
local want = tonumber(ARGV[5])
local out = {}
local skipped = 0
while #out < want and skipped < 100 do
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
    emit(KEYS[6], ARGV[4], 'job', id, 'status', 'running', 'worker', ARGV[1], 'ts', now)
    table.insert(out, redis.call('HGETALL', jobKey))
  else
    -- a job that vanished (expired) or was cancelled while queued is skipped
    redis.call('ZREM', KEYS[4], id)
    skipped = skipped + 1
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[7]) end
if #out > 0 then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    local st = redis.call('HGET', KEYS[3], 'status')
    if st == 'idle' or st == 'starting' then redis.call('HSET', KEYS[3], 'status', 'busy') end
    redis.call('HSET', KEYS[3], 'last_activity', now)
  end
else
  worker_settle(KEYS[3], KEYS[2], now)
end
return out
