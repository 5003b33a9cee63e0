--[[ reserve-worker: register a new worker of a type only if the queue needs one more,
counting the serving workers of every host, so that spawners sharing one Redis do not
all start workers for the same queued jobs.
KEYS:
  queue       queue zset of the type
  workers_of_type  set of the type's workers
  workers     set of all workers
  worker      the new worker's hash
  lease       the new worker's lease
ARGV:
  worker_id   new worker id
  worker_type worker type
  max_jobs    max_jobs of the type
  host        host id
  now         now (ms)
  lease_ms    first lease (ms)
  worker_prefix  worker key prefix
  active_prefix  active key prefix
  min_serving serving workers wanted whatever the queue (1 for ensure, 0 for queued work)
DERIVED:
  worker_prefix .. <id>   the hash of each worker of the type's set (read)
  active_prefix .. <id>   the active zset of each worker of the type's set (read)
Returns: 1 when the worker was registered (status starting), 0 when enough serve already.
]]
local serving, running = 0, 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local st = redis.call('HGET', ARGV[7] .. id, 'status')
  if st == 'starting' or st == 'idle' or st == 'busy' then serving = serving + 1 end
  running = running + redis.call('ZCARD', ARGV[8] .. id)
end
local demand = redis.call('ZCARD', KEYS[1]) + running
if serving >= math.max(tonumber(ARGV[9]) or 0, math.ceil(demand / tonumber(ARGV[3]))) then return 0 end
redis.call('HSET', KEYS[4], 'worker_id', ARGV[1], 'worker_type', ARGV[2], 'status', 'starting', 'host', ARGV[4],
  'created_at', ARGV[5], 'last_activity', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SET', KEYS[5], ARGV[5], 'PX', ARGV[6])
return 1
