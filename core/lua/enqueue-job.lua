--[[ enqueue-job: create a job and put it on its type's queue, atomically.
KEYS:
  job         the job hash
  queue       queue zset of the type
  notify      notify list of the type
  all         index of all jobs
  queued      index of queued jobs
  seq         seq counter
  types       known types hash
  events      events stream
  idempotency idempotency key (any key of the prefix when there is none)
  workers_of_type  set of the type's live workers
  expiring    expiry index (zset: job id by queued-TTL deadline)
ARGV:
  job_id      job id
  worker_type worker type
  kind        kind
  payload     payload JSON
  now         now (ms)
  settings    the API's settings JSON, the same for every job: {maxlen (events maxlen),
              default_max_attempts (max_attempts when neither the job nor its type's registry
              entry sets one), default_ttl_ms (queued TTL when neither sets one; 0: none),
              default_max_queued (absent: none)}; the type's registry entry may set max_queued,
              queued_ttl_s, max_timeout_s, max_attempts_limit
  ...options  the job's own settings that are not their defaults, as name/value pairs:
              priority ('0'), max_attempts ('': the type's or the default), timeout_ms ('0'),
              type_check ('default': a built-in type, refused only when the registry exists and
              lacks it; 'custom': refused unless the registry has it), idempotency_ttl_ms and
              fingerprint (none: no idempotency key), backoff (backoff JSON; ''), ttl_ms (the
              job's own queued TTL; none), model (the training job id whose model an inference
              job uses, recorded as `model`: the claim scripts' affinity prefers a worker holding it)
Returns: {1, seq, id, live workers of the type} created | {2, 0, existing id} idempotent replay.
Errors (nothing written): KILN IDEMPOTENCY_KEY_REUSED, KILN UNKNOWN_WORKER_TYPE, KILN JOB_EXISTS,
KILN QUEUE_FULL <limit>, KILN TIMEOUT_ABOVE_CEILING <limit>, KILN ATTEMPTS_ABOVE_CEILING <limit>.
]]
--@include _helpers
local id, wtype, now = ARGV[1], ARGV[2], ARGV[5]
local settings = cjson.decode(ARGV[6])
local opt = {priority = '0', max_attempts = '', timeout_ms = '0', type_check = 'default', idempotency_ttl_ms = '',
  fingerprint = '', backoff = ''}
for i = 7, #ARGV - 1, 2 do opt[ARGV[i]] = ARGV[i + 1] end
if opt.idempotency_ttl_ms ~= '' then
  local prev = redis.call('HMGET', KEYS[9], 'job_id', 'fingerprint')
  if prev[1] then
    if prev[2] ~= opt.fingerprint then return redis.error_reply('KILN IDEMPOTENCY_KEY_REUSED') end
    return {2, 0, prev[1]}
  end
end
local typeJson = redis.call('HGET', KEYS[7], wtype)
if not typeJson and (opt.type_check == 'custom' or redis.call('EXISTS', KEYS[7]) == 1) then
  return redis.error_reply('KILN UNKNOWN_WORKER_TYPE')
end
local cfg = {}
if typeJson then
  local ok, decoded = pcall(cjson.decode, typeJson)
  if ok and type(decoded) == 'table' then cfg = decoded end
end
local maxTimeout, attemptsLimit = tonumber(cfg.max_timeout_s), tonumber(cfg.max_attempts_limit)
if maxTimeout and tonumber(opt.timeout_ms) > maxTimeout * 1000 then return redis.error_reply('KILN TIMEOUT_ABOVE_CEILING ' .. tostring(maxTimeout)) end
if attemptsLimit and opt.max_attempts ~= '' and tonumber(opt.max_attempts) > attemptsLimit then return redis.error_reply('KILN ATTEMPTS_ABOVE_CEILING ' .. tostring(attemptsLimit)) end
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('KILN JOB_EXISTS') end
local maxQueued = tonumber(cfg.max_queued) or tonumber(settings.default_max_queued)
if maxQueued and redis.call('ZCARD', KEYS[2]) >= maxQueued then return redis.error_reply('KILN QUEUE_FULL ' .. tostring(maxQueued)) end
local maxAttempts = opt.max_attempts
if maxAttempts == '' then
  maxAttempts = tonumber(cfg.max_attempts) or tonumber(settings.default_max_attempts)
  if attemptsLimit and maxAttempts > attemptsLimit then maxAttempts = attemptsLimit end
end
local ttlMs = tonumber(opt.ttl_ms)
if not ttlMs then ttlMs = (tonumber(cfg.queued_ttl_s) or 0) * 1000 end
if ttlMs <= 0 then ttlMs = tonumber(settings.default_ttl_ms) or 0 end
local seq = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[1], 'id', id, 'seq', seq, 'type', wtype, 'kind', ARGV[3], 'payload', ARGV[4],
  'status', 'queued', 'priority', opt.priority, 'attempts', 0, 'max_attempts', maxAttempts, 'timeout_ms', opt.timeout_ms,
  'progress', 0, 'created_at', now, 'backoff', opt.backoff)
if opt.model then redis.call('HSET', KEYS[1], 'model', opt.model) end
if opt.idempotency_ttl_ms ~= '' then
  redis.call('HSET', KEYS[1], 'idempotency_key', KEYS[9])
  redis.call('HSET', KEYS[9], 'job_id', id, 'fingerprint', opt.fingerprint)
  redis.call('PEXPIRE', KEYS[9], opt.idempotency_ttl_ms)
end
redis.call('ZADD', KEYS[2], queue_score(opt.priority, seq), id)
redis.call('ZADD', KEYS[4], seq, id)
redis.call('ZADD', KEYS[5], seq, id)
if ttlMs > 0 then
  local deadline = string.format('%d', tonumber(now) + math.floor(ttlMs))
  redis.call('HSET', KEYS[1], 'expires_at', deadline)
  redis.call('ZADD', KEYS[11], deadline, id)
end
if redis.call('LPUSH', KEYS[3], '1') > 1000 then redis.call('LTRIM', KEYS[3], 0, 999) end
emit(KEYS[8], settings.maxlen, 'job', id, 'status', 'queued', 'type', wtype, 'ts', now)
return {1, seq, id, redis.call('SCARD', KEYS[10])}
