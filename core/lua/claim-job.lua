--[[ claim-job: move up to N queued jobs of a type to a worker's active set.
KEYS[1] queue zset   KEYS[2] active zset of the worker   KEYS[3] worker hash
KEYS[4] queued index   KEYS[5] running index   KEYS[6] events stream   KEYS[7] notify list
ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] job key prefix   ARGV[4] events maxlen
ARGV[5] at most this many jobs (the worker's free slots)
ARGV[6] '' or, on a new worker's first claims, when it was spawned (ms since the epoch)
ARGV[7] the cold-start timings JSON to record on claimed jobs queued before that spawn
Returns an array of claimed jobs, each a flat field/value array; empty when the queue is.
]]
--@include _helpers
--@include _claim
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end

local jobs = claim_jobs(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7],
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
if ARGV[6] ~= '' then
  local spawned = tonumber(ARGV[6])
  for _, job in ipairs(jobs) do
    local queued = tonumber(field(job, 'queued_at') or field(job, 'created_at'))
    if queued and queued <= spawned then
      redis.call('HSET', ARGV[3] .. field(job, 'id'), 'cold_start', ARGV[7], 'cold_start_attempt', field(job, 'attempts'))
    end
  end
end
return jobs
