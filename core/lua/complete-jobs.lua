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
ARGV:
  worker_id   worker id
  now         now (ms)
  retention_ms  retention ms
  maxlen      events maxlen
  count       claim at most this many next jobs (0: none)
  job_prefix  job key prefix
  log_prefix  job log stream key prefix
  ...results  two values per finished job: its id, its result JSON
DERIVED:
  job_prefix .. <id>   the hash of each finished job, and of each next job claimed from the queue
  job_prefix .. <id> .. ':progress'   the progress history of each finished job (expires with it)
  log_prefix .. <id>   the log stream of each finished job (expires with it)
Returns: {{recorded per finished job, in order: 1, or 0 when the worker no longer holds it},
next job 1, next job 2, ...} (each next job its hash as a JSON object of strings).
]]
--@include _helpers
--@include _claim
--@include _complete
local now, jobPrefix = ARGV[2], ARGV[6]
local recorded, done = {}, 0
for i = 8, #ARGV - 1, 2 do
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
  for _, job in ipairs(claim_jobs(KEYS[6], KEYS[1], KEYS[2], KEYS[7], KEYS[3], KEYS[5], KEYS[8],
      ARGV[1], now, jobPrefix, ARGV[4], want)) do
    table.insert(out, hash_json(job))
  end
else
  worker_settle(KEYS[2], KEYS[1], now)
end
return out
