--[[ reserve-worker: register a new worker of a type only if the queue needs one more,
counting the serving workers of every host, so that spawners sharing one Redis do not
all start workers for the same queued jobs.
KEYS[1] queue zset of the type   KEYS[2] set of the type's workers   KEYS[3] set of all workers
KEYS[4] the new worker's hash   KEYS[5] the new worker's lease
ARGV[1] new worker id   ARGV[2] worker type   ARGV[3] max_jobs of the type   ARGV[4] host id
ARGV[5] now (ms)   ARGV[6] first lease (ms)   ARGV[7] worker key prefix   ARGV[8] active key prefix
ARGV[9] serving workers wanted whatever the queue (1 for ensure, 0 for queued work)
Returns 1 when the worker was registered (status starting), 0 when enough serve already.
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
