--[[ cancel-job: cancel a waiting job at once, or ask the worker running it to stop.
KEYS[1] job hash   KEYS[2] queue zset of its type   KEYS[3] queued index   KEYS[4] delayed zset
KEYS[5] delayed index   KEYS[6] cancelled index   KEYS[7] events stream
KEYS[8] log stream of the job (expires with the job; lines of earlier attempts)
ARGV[1] job id   ARGV[2] now (ms)   ARGV[3] retention ms   ARGV[4] events maxlen
ARGV[5] cancel channel prefix (the worker id is appended)   ARGV[6] reason
Returns {'cancelled'} | {'cancelling', worker id} | {'finished', status} | {'missing'}
]]
--@include _helpers
local id, now = ARGV[1], ARGV[2]
local job = redis.call('HMGET', KEYS[1], 'status', 'seq', 'worker_id', 'type')
local status = job[1]
if not status then return {'missing'} end
if status == 'queued' or status == 'delayed' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', now, 'cancel_requested', now,
    'error', cjson.encode({type = 'cancelled', message = ARGV[6]}))
  redis.call('ZADD', KEYS[6], job[2], id)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[8], ARGV[3])
  emit(KEYS[7], ARGV[4], 'job', id, 'status', 'cancelled', 'type', job[4], 'ts', now)
  return {'cancelled'}
end
if status == 'running' then
  redis.call('HSET', KEYS[1], 'cancel_requested', now)
  redis.call('PUBLISH', ARGV[5] .. (job[3] or ''), id)
  emit(KEYS[7], ARGV[4], 'job', id, 'status', 'cancelling', 'worker', job[3] or '', 'ts', now)
  return {'cancelling', job[3] or ''}
end
return {'finished', status}
