--[[ claim-job: move up to N queued jobs of a type to a worker's active set.
KEYS[1] queue zset   KEYS[2] active zset of the worker   KEYS[3] worker hash
KEYS[4] queued index   KEYS[5] running index   KEYS[6] events stream   KEYS[7] notify list
ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] job key prefix   ARGV[4] events maxlen
ARGV[5] at most this many jobs (the worker's free slots)
Returns an array of claimed jobs, each a flat field/value array; empty when the queue is.
]]
--@include _helpers
--@include _claim
return claim_jobs(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7],
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
