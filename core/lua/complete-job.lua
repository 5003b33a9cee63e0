--[[ complete-job: record a job's result (only the worker that holds it may), and
claim the worker's next jobs in the same call, as its slot is free again.
KEYS:
  job         the job hash
  active      active zset of the worker
  worker      worker hash
  running     running index
  succeeded   succeeded index
  events      events stream
  queue       queue zset of the type
  queued      queued index
  notify      notify list of the type
  logs        log stream of the job (expires with the job)
  progress    progress history stream of the job (expires with the job)
ARGV:
  job_id      job id
  worker_id   worker id
  now         now (ms)
  result      result JSON
  retention_ms  retention ms
  maxlen      events maxlen
  count       claim at most this many next jobs (0: none)
  job_prefix  job key prefix
DERIVED:
  job_prefix .. <id>   the hash of each next job claimed from the queue
Returns: {1, next job 1, next job 2, ...} when recorded (each next job its hash as a JSON
object of strings), or {0} when the worker no longer holds the job (requeued or cancelled: an outcome, not an error).
]]
--@include _helpers
--@include _claim
--@include _complete
local id, now = ARGV[1], ARGV[3]
if complete_one(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[10], KEYS[11],
    id, ARGV[2], now, ARGV[4], ARGV[5], ARGV[6]) == 0 then
  return {0}
end
local out = {1}
local want = tonumber(ARGV[7])
if want > 0 then
  for _, job in ipairs(claim_jobs(KEYS[7], KEYS[2], KEYS[3], KEYS[8], KEYS[4], KEYS[6], KEYS[9],
      ARGV[2], now, ARGV[8], ARGV[6], want)) do
    table.insert(out, hash_json(job))
  end
else
  worker_settle(KEYS[3], KEYS[2], now)
end
return out
