--[[ enqueue-job: create a job and put it on its type's queue, atomically.
KEYS[1] job hash            KEYS[2] queue zset of the type   KEYS[3] notify list of the type
KEYS[4] index of all jobs   KEYS[5] index of queued jobs     KEYS[6] seq counter
KEYS[7] known types hash    KEYS[8] events stream            KEYS[9] idempotency key
KEYS[10] set of the type's live workers
ARGV[1] job id   ARGV[2] worker type   ARGV[3] kind   ARGV[4] payload JSON   ARGV[5] priority
ARGV[6] max_attempts   ARGV[7] timeout_ms   ARGV[8] now (ms)   ARGV[9] events maxlen
ARGV[10] 'default' (a built-in type: refused only when the registry exists and lacks it)
         or 'custom' (refused unless the registry has it)
ARGV[11] idempotency TTL ms ('' for no key)   ARGV[12] request fingerprint   ARGV[13] backoff JSON
ARGV[14] max_attempts when neither the job (ARGV[6] '') nor its type's registry entry sets one
Returns {1, seq, id, live workers of the type} created | {2, 0, existing id} idempotent replay
        | {0, error code}
]]
--@include _helpers
local id, wtype = ARGV[1], ARGV[2]
local now = ARGV[8]
if ARGV[11] ~= '' then
  local prev = redis.call('HMGET', KEYS[9], 'job_id', 'fingerprint')
  if prev[1] then
    if prev[2] ~= ARGV[12] then return {0, 'IDEMPOTENCY_MISMATCH'} end
    return {2, 0, prev[1]}
  end
end
if redis.call('HEXISTS', KEYS[7], wtype) == 0 and (ARGV[10] == 'custom' or redis.call('EXISTS', KEYS[7]) == 1) then
  return {0, 'UNKNOWN_WORKER_TYPE'}
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 'JOB_EXISTS'} end
local maxAttempts = ARGV[6]
if maxAttempts == '' then
  maxAttempts = ARGV[14]
  local typeJson = redis.call('HGET', KEYS[7], wtype)
  if typeJson then
    local ok, cfg = pcall(cjson.decode, typeJson)
    if ok and type(cfg) == 'table' and tonumber(cfg.max_attempts) then maxAttempts = cfg.max_attempts end
  end
end
local seq = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[1], 'id', id, 'seq', seq, 'type', wtype, 'kind', ARGV[3], 'payload', ARGV[4],
  'status', 'queued', 'priority', ARGV[5], 'attempts', 0, 'max_attempts', maxAttempts, 'timeout_ms', ARGV[7],
  'progress', 0, 'created_at', now, 'backoff', ARGV[13])
if ARGV[11] ~= '' then
  redis.call('HSET', KEYS[1], 'idempotency_key', KEYS[9])
  redis.call('HSET', KEYS[9], 'job_id', id, 'fingerprint', ARGV[12])
  redis.call('PEXPIRE', KEYS[9], ARGV[11])
end
redis.call('ZADD', KEYS[2], queue_score(ARGV[5], seq), id)
redis.call('ZADD', KEYS[4], seq, id)
redis.call('ZADD', KEYS[5], seq, id)
redis.call('LPUSH', KEYS[3], '1')
redis.call('LTRIM', KEYS[3], 0, 999)
emit(KEYS[8], ARGV[9], 'job', id, 'status', 'queued', 'type', wtype, 'ts', now)
return {1, seq, id, redis.call('SCARD', KEYS[10])}
