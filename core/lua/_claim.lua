-- A job hash (HGETALL's flat field/value array) as one JSON object of strings: a reply
-- of one bulk string per job, which a client decodes much faster than two per field.
local function hash_json(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return cjson.encode(t)
end

-- Shared fragment: move up to `want` queued jobs of a type to a worker's active set.
-- Returns the claimed jobs, each a flat field/value array. When the queue is left
-- empty its wake-up tokens are dropped: they only ever mean "there may be a job",
-- and stale ones would wake idle workers for nothing.
local function claim_jobs(queueKey, activeKey, workerKey, queuedIdx, runningIdx, events, notifyKey,
                          workerId, now, jobPrefix, maxlen, want)
  local out = {}
  local skipped = 0
  while #out < want and skipped < 100 do
    -- as many as still wanted in one pop (member, score, member, score, ...)
    local popped = redis.call('ZPOPMIN', queueKey, want - #out)
    if #popped == 0 then break end
    for i = 1, #popped, 2 do
      local id = popped[i]
      local jobKey = jobPrefix .. id
      local job = redis.call('HMGET', jobKey, 'status', 'seq', 'attempts')
      if job[1] == 'queued' then
        redis.call('HSET', jobKey, 'status', 'running', 'worker_id', workerId, 'started_at', now,
          'attempts', (tonumber(job[3]) or 0) + 1)
        redis.call('ZREM', queuedIdx, id)
        redis.call('ZADD', runningIdx, job[2], id)
        redis.call('ZADD', activeKey, now, id)
        emit(events, maxlen, 'job', id, 'status', 'running', 'worker', workerId, 'ts', now)
        table.insert(out, redis.call('HGETALL', jobKey))
      else
        -- a job that vanished (expired) or was cancelled while queued is skipped
        redis.call('ZREM', queuedIdx, id)
        skipped = skipped + 1
      end
    end
  end
  if redis.call('ZCARD', queueKey) == 0 then redis.call('DEL', notifyKey) end
  if #out > 0 then
    if redis.call('EXISTS', workerKey) == 1 then
      local st = redis.call('HGET', workerKey, 'status')
      if st == 'idle' or st == 'starting' then redis.call('HSET', workerKey, 'status', 'busy') end
      redis.call('HSET', workerKey, 'last_activity', now)
    end
  else
    worker_settle(workerKey, activeKey, now)
  end
  return out
end
