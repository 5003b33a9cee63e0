--[[ claim-job: move up to N queued jobs of a type to a worker's active set.
KEYS:
  queue       queue zset
  active      active zset of the worker
  worker      worker hash
  queued      queued index
  running     running index
  events      events stream
  notify      notify list
ARGV:
  worker_id   worker id
  now         now (ms); '' for the Redis server's clock (TIME): a claim pipelined behind the
              worker's blocking wait is sent before the moment it runs is known
  job_prefix  job key prefix
  maxlen      events maxlen
  count       at most this many jobs (the worker's free slots)
  spawned_at  '' or, on a new worker's first claims, when it was spawned (ms since the epoch)
  cold_start  the cold-start timings JSON to record on claimed jobs queued before that spawn
DERIVED:
  job_prefix .. <id>   the hash of each job popped from the queue (ids are known only inside)
Returns: an array of claimed jobs, each its hash as a JSON object of strings; empty when the queue is.
]]
--@include _helpers
--@include _claim
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end

local now = ARGV[2]
if now == '' then
  local t = redis.call('TIME')
  now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
local jobs = claim_jobs(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7],
  ARGV[1], now, ARGV[3], ARGV[4], tonumber(ARGV[5]))
if ARGV[6] ~= '' then
  local spawned = tonumber(ARGV[6])
  for _, job in ipairs(jobs) do
    local queued = tonumber(field(job, 'queued_at') or field(job, 'created_at'))
    if queued and queued <= spawned then
      redis.call('HSET', ARGV[3] .. field(job, 'id'), 'cold_start', ARGV[7], 'cold_start_attempt', field(job, 'attempts'))
    end
  end
end
local out = {}
for i, job in ipairs(jobs) do out[i] = hash_json(job) end
return out
