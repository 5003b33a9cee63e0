-- A job hash (HGETALL's flat field/value array) as one JSON object of strings: a reply
-- of one bulk string per job, which a client decodes much faster than two per field.
local function hash_json(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return cjson.encode(t)
end

-- Moves one queued job (already off the queue zset) to the worker. Returns its hash, or
-- nil when it vanished (expired) or was cancelled while queued (then it is unindexed).
local function claim_one(jobPrefix, id, activeKey, queuedIdx, runningIdx, events, workerId, now, maxlen)
  local jobKey = jobPrefix .. id
  local job = redis.call('HMGET', jobKey, 'status', 'seq', 'attempts')
  redis.call('ZREM', queuedIdx, id)
  if job[1] ~= 'queued' then return nil end
  redis.call('HSET', jobKey, 'status', 'running', 'worker_id', workerId, 'started_at', now,
    'attempts', (tonumber(job[3]) or 0) + 1)
  redis.call('ZADD', runningIdx, job[2], id)
  redis.call('ZADD', activeKey, now, id)
  emit(events, maxlen, 'job', id, 'status', 'running', 'worker', workerId, 'ts', now)
  return redis.call('HGETALL', jobKey)
end

-- A live worker of `wtype` (idle or busy, not draining) other than `me` that holds `model`:
-- its id and status, or nil. Holders whose record is gone are dropped from the set.
local function live_holder(aff, model, wtype, me)
  local holdersKey = aff.holders_prefix .. model
  for _, w in ipairs(redis.call('SMEMBERS', holdersKey)) do
    if w ~= me then
      local rec = redis.call('HMGET', aff.worker_prefix .. w, 'status', 'worker_type')
      if not rec[1] then
        redis.call('SREM', holdersKey, w)
      elseif (rec[1] == 'idle' or rec[1] == 'busy') and rec[2] == wtype then
        return w, rec[1]
      end
    end
  end
  return nil
end

-- Affinity (inference jobs carry `model`, the training job id): scans the first aff.scan
-- queued jobs and takes, in order, those waiting past the starvation bound, then, priority by
-- priority, those whose model this worker holds before the rest — except a job whose model
-- another live worker of the type holds, which is left to that worker until aff.wait_ms after
-- it was queued (an idle holder is woken on its own notify list). Returns the ids to take
-- (still on the queue), and the ms until the first job left to another worker may be taken
-- here (nil: none).
local function affine_pick(queueKey, queuedIdx, jobPrefix, workerId, now, want, aff)
  local nowN, wait = tonumber(now), aff.wait_ms
  local starve = math.max(1000, 20 * wait)
  local overdue, groups, nudged = {}, {}, {}
  local mine, rest, band
  local retry = nil
  for _, id in ipairs(redis.call('ZRANGE', queueKey, 0, aff.scan - 1)) do
    local j = redis.call('HMGET', jobPrefix .. id, 'status', 'model', 'queued_at', 'created_at', 'type', 'priority')
    if j[6] ~= band then -- the queue is in priority order: a new priority starts a new group
      band, mine, rest = j[6], {}, {}
      table.insert(groups, mine)
      table.insert(groups, rest)
    end
    local age = nowN - (tonumber(j[3]) or tonumber(j[4]) or nowN)
    if j[1] ~= 'queued' then
      redis.call('ZREM', queueKey, id)
      redis.call('ZREM', queuedIdx, id)
    elseif age >= starve then
      table.insert(overdue, id)
    elseif not j[2] or j[2] == '' then
      table.insert(rest, id)
    elseif redis.call('SISMEMBER', aff.models_key, j[2]) == 1 then
      table.insert(mine, id)
    elseif age >= wait then
      table.insert(rest, id)
    else
      local holder, st = live_holder(aff, j[2], j[5], workerId)
      if holder then
        retry = math.min(retry or wait, wait - age)
        if st == 'idle' and not nudged[holder] then
          nudged[holder] = true
          local nk = aff.wnotify_prefix .. holder
          redis.call('LPUSH', nk, '1')
          redis.call('PEXPIRE', nk, 60000)
        end
      else
        table.insert(rest, id)
      end
    end
  end
  local pick = {}
  table.insert(groups, 1, overdue)
  for _, list in ipairs(groups) do
    for _, id in ipairs(list) do
      if #pick < want then table.insert(pick, id) end
    end
  end
  return pick, retry
end

-- Dynamic batching: the ids (still on the queue) of up to `want` queued jobs among the first
-- `scan` of the queue whose `model` is `model`, in queue order. Stale entries are dropped.
local function model_pick(queueKey, queuedIdx, jobPrefix, model, want, scan)
  local pick = {}
  for _, id in ipairs(redis.call('ZRANGE', queueKey, 0, scan - 1)) do
    local j = redis.call('HMGET', jobPrefix .. id, 'status', 'model')
    if j[1] ~= 'queued' then
      redis.call('ZREM', queueKey, id)
      redis.call('ZREM', queuedIdx, id)
    elseif j[2] == model then
      table.insert(pick, id)
      if #pick >= want then break end
    end
  end
  return pick
end

-- Shared fragment: move up to `want` queued jobs of a type to a worker's active set.
-- Returns the claimed jobs, each a flat field/value array, and (affinity only) the ms after
-- which a job left to another worker may be claimed here (nil: none). `aff` nil: plain
-- priority order. `only_model` (nil: any job): only jobs of that model, from the first 256 of the
-- queue (a batching worker filling its batch). When the queue is left empty its wake-up tokens are dropped: they only
-- ever mean "there may be a job", and stale ones would wake idle workers for nothing (so
-- are they when every job was left to other workers: this worker comes back after `retry`).
local function claim_jobs(queueKey, activeKey, workerKey, queuedIdx, runningIdx, events, notifyKey,
                          workerId, now, jobPrefix, maxlen, want, aff, only_model)
  local out = {}
  local retry = nil
  if only_model then
    for _, id in ipairs(model_pick(queueKey, queuedIdx, jobPrefix, only_model, want, 256)) do
      redis.call('ZREM', queueKey, id)
      local job = claim_one(jobPrefix, id, activeKey, queuedIdx, runningIdx, events, workerId, now, maxlen)
      if job then table.insert(out, job) end
    end
  elseif aff then
    for _ = 1, 4 do
      local pick
      pick, retry = affine_pick(queueKey, queuedIdx, jobPrefix, workerId, now, want - #out, aff)
      if #pick == 0 then break end
      for _, id in ipairs(pick) do
        redis.call('ZREM', queueKey, id)
        local job = claim_one(jobPrefix, id, activeKey, queuedIdx, runningIdx, events, workerId, now, maxlen)
        if job then table.insert(out, job) end
      end
      if #out >= want then break end
    end
  else
    local skipped = 0
    while #out < want and skipped < 100 do
      -- as many as still wanted in one pop (member, score, member, score, ...)
      local popped = redis.call('ZPOPMIN', queueKey, want - #out)
      if #popped == 0 then break end
      for i = 1, #popped, 2 do
        local job = claim_one(jobPrefix, popped[i], activeKey, queuedIdx, runningIdx, events, workerId, now, maxlen)
        if job then table.insert(out, job) else skipped = skipped + 1 end
      end
    end
  end
  if redis.call('ZCARD', queueKey) == 0 or (#out == 0 and retry) then redis.call('DEL', notifyKey) end
  if #out > 0 then
    if redis.call('EXISTS', workerKey) == 1 then
      local st = redis.call('HGET', workerKey, 'status')
      if st == 'idle' or st == 'starting' then redis.call('HSET', workerKey, 'status', 'busy') end
      redis.call('HSET', workerKey, 'last_activity', now)
    end
  else
    worker_settle(workerKey, activeKey, now)
  end
  return out, retry
end

-- The affinity settings of a claim from its ARGV (wait_ms '' : none, plain priority order).
local function affinity_args(waitMs, modelsKey, holdersPrefix, workerPrefix, wnotifyPrefix)
  if waitMs == nil or waitMs == '' then return nil end
  return {wait_ms = tonumber(waitMs), models_key = modelsKey, holders_prefix = holdersPrefix,
    worker_prefix = workerPrefix, wnotify_prefix = wnotifyPrefix, scan = 16}
end
