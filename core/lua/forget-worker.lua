--[[ forget-worker: drop a worker record, its lease and its set entries (a worker found dead whose jobs were given back, or a reservation never started).
KEYS:
  worker      the worker hash
  lease       the worker's lease
  workers     the set of all live workers
  of_type     the set of live workers of its type
ARGV:
  id          worker id
Returns 1 when a record was there, 0 when not.
]]
local had = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return had
