-- Shared fragment, included at build time by scripts/gen-lua.mjs.
-- Appends one transition to the capped events stream.
local function emit(stream, maxlen, ...)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', ...)
end

-- Queue score: higher priority first, FIFO (by seq) within a priority.
local function queue_score(priority, seq)
  return -tonumber(priority) * 1000000000000 + tonumber(seq)
end

-- Marks a worker idle again once it holds no job (never undoes draining/stopping).
local function worker_settle(workerKey, activeKey, now)
  if redis.call('EXISTS', workerKey) == 0 then return end
  local st = redis.call('HGET', workerKey, 'status')
  if redis.call('ZCARD', activeKey) == 0 and (st == 'busy' or st == 'starting' or st == 'idle') then
    redis.call('HSET', workerKey, 'status', 'idle', 'last_activity', now)
  else
    redis.call('HSET', workerKey, 'last_activity', now)
  end
end

-- Appends an error to the job's list of attempt errors (JSON array).
local function push_error(jobKey, errJson)
  local list = redis.call('HGET', jobKey, 'errors')
  local arr = {}
  if list and list ~= '' then arr = cjson.decode(list) end
  table.insert(arr, cjson.decode(errJson))
  redis.call('HSET', jobKey, 'errors', cjson.encode(arr), 'error', errJson)
end
