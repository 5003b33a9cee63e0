--[[ complete-jobs: record the results of several jobs one worker holds (each only while it
still holds it), and claim the worker's next jobs in the same call: a busy worker's jobs that
finished together cost one round trip, not one each (complete-job.lua is the one-job form).
KEYS:
  active      active zset of the worker
  worker      worker hash
  running     running index
  succeeded   succeeded index
  events      events stream
  queue       queue zset of the type
  queued      queued index
  notify      notify list of the type
  models      the worker's set of held models (affinity; any key of the prefix without)
ARGV:
  worker_id   worker id
  now         now (ms)
  retention_ms  retention ms
  maxlen      events maxlen
  count       claim at most this many next jobs (0: none)
  job_prefix  job key prefix
  log_prefix  job log stream key prefix
  affinity_wait_ms  '' or the next claim's affinity wait (as claim-job.lua's)
  holders_prefix  as claim-job.lua's
  worker_prefix   as claim-job.lua's
  wnotify_prefix  as claim-job.lua's
  ...results  two values per finished job: its id, its result JSON
DERIVED:
  job_prefix .. <id>   the hash of each finished job, and of each next job claimed from the queue
  job_prefix .. <id> .. ':progress'   the progress history of each finished job (expires with it)
  log_prefix .. <id>   the log stream of each finished job (expires with it)
  holders_prefix .. <model>   the workers holding a queued job's model (as claim-job.lua's)
  worker_prefix .. <id>       each such holder's hash
  wnotify_prefix .. <id>      an idle holder's own notify list
Returns: {{recorded per finished job, in order: 1, or 0 when the worker no longer holds it},
next job 1, next job 2, ...} (each next job its hash as a JSON object of strings), and with
affinity maybe a last number, as claim-job.lua's.
]]
--@include _helpers
--@include _claim
--@include _complete
local now, jobPrefix = ARGV[2], ARGV[6]
local recorded, done = {}, 0
for i = 12, #ARGV - 1, 2 do
  local id = ARGV[i]
  local r = complete_one(jobPrefix .. id, KEYS[1], false, KEYS[3], KEYS[4], KEYS[5],
    ARGV[7] .. id, jobPrefix .. id .. ':progress', id, ARGV[1], now, ARGV[i + 1], ARGV[3], ARGV[4])
  table.insert(recorded, r)
  done = done + r
end
if done > 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'job_count', done) end
local out = {recorded}
local want = tonumber(ARGV[5])
if want > 0 then
  local jobs, retry = claim_jobs(KEYS[6], KEYS[1], KEYS[2], KEYS[7], KEYS[3], KEYS[5], KEYS[8],
    ARGV[1], now, jobPrefix, ARGV[4], want, affinity_args(ARGV[8], KEYS[9], ARGV[9], ARGV[10], ARGV[11]))
  for _, job in ipairs(jobs) do table.insert(out, hash_json(job)) end
  if retry then table.insert(out, math.max(1, math.ceil(retry))) end
else
  worker_settle(KEYS[2], KEYS[1], now)
end
return out
