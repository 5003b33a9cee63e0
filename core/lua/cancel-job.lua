--[[ cancel-job: cancel a waiting job at once, or ask the worker running it to stop.
KEYS:
  job         the job hash
  queue       queue zset of its type
  queued      queued index
  delayed     delayed zset
  delayed_idx delayed index
  cancelled   cancelled index
  events      events stream
  logs        log stream of the job (expires with the job; lines of earlier attempts)
  progress    progress history stream of the job (expires with the job)
ARGV:
  job_id      job id
  now         now (ms)
  retention_ms  retention ms
  maxlen      events maxlen
  cancel_channel  cancel channel prefix (the worker id is appended; a channel, not a key)
  reason      reason
Returns: {'cancelled'} | {'cancelling', worker id} | {'finished', status} | {'missing'}
(all outcomes, none an error).
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
  redis.call('PEXPIRE', KEYS[9], ARGV[3]) -- its progress history (from earlier attempts)
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
