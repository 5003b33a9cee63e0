--[[ claim-job: move up to N queued jobs of a type to a worker's active set.
KEYS:
  queue       queue zset
  active      active zset of the worker
  worker      worker hash
  queued      queued index
  running     running index
  events      events stream
  notify      notify list
  models      the worker's set of held models (affinity; any key of the prefix without)
ARGV:
  worker_id   worker id
  now         now (ms); '' for the Redis server's clock (TIME): a claim pipelined behind the
              worker's blocking wait is sent before the moment it runs is known
  job_prefix  job key prefix
  maxlen      events maxlen
  count       at most this many jobs (the worker's free slots)
  spawned_at  '' or, on a new worker's first claims, when it was spawned (ms since the epoch)
  cold_start  the cold-start timings JSON to record on claimed jobs queued before that spawn
  affinity_wait_ms  '' (plain priority order) or how long a job whose model another live worker
              holds is left to that worker, from its queued_at (ms; see _claim.lua)
  holders_prefix  key prefix of the set of workers holding a model (affinity)
  worker_prefix   key prefix of worker hashes (affinity: a holder's status and type)
  wnotify_prefix  key prefix of a worker's own notify list (affinity: an idle holder is woken)
  only_model  '' (any job) or a model id: only queued jobs of that model, from the first 256 of
              the queue (dynamic batching: a worker filling a batch; affinity is then not used)
DERIVED:
  job_prefix .. <id>   the hash of each job popped from the queue (ids are known only inside)
  holders_prefix .. <model>   the workers holding a queued job's model
  worker_prefix .. <id>       each such holder's hash
  wnotify_prefix .. <id>      an idle holder's own notify list
Returns: an array of claimed jobs, each its hash as a JSON object of strings; empty when the queue is.
With affinity, a last element that is a number: the ms after which a job left to another worker
may be claimed by this one (absent: none was).
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
local jobs, retry = claim_jobs(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7],
  ARGV[1], now, ARGV[3], ARGV[4], tonumber(ARGV[5]), affinity_args(ARGV[8], KEYS[8], ARGV[9], ARGV[10], ARGV[11]),
  ARGV[12] ~= '' and ARGV[12] or nil)
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
if retry then table.insert(out, math.max(1, math.ceil(retry))) end
return out
