--[[ type-counts: per registered worker type, its queued, running and delayed jobs (read-only).
Running: the jobs held by the type's live workers, on every host.
KEYS:
  types       types hash (the registry)
  delayed     delayed zset
ARGV:
  queue_prefix  queue key prefix
  workers_of_type_prefix  workers-of-type key prefix
  active_prefix  active key prefix
  job_prefix  job key prefix
  delayed_limit  look at most at this many delayed jobs (the soonest due)
DERIVED:
  queue_prefix .. <type>   the queue of each registered type
  workers_of_type_prefix .. <type>   the workers set of each registered type
  active_prefix .. <worker id>   the active zset of each of those workers
  job_prefix .. <id>   the hash of each delayed job looked at
Returns: a flat array {type, queued, running, delayed, type, queued, …}.
]]
local delayed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[5]) - 1)) do
  local t = redis.call('HGET', ARGV[4] .. id, 'type')
  if t then delayed[t] = (delayed[t] or 0) + 1 end
end
local out = {}
for _, t in ipairs(redis.call('HKEYS', KEYS[1])) do
  local running = 0
  for _, w in ipairs(redis.call('SMEMBERS', ARGV[2] .. t)) do
    running = running + redis.call('ZCARD', ARGV[3] .. w)
  end
  table.insert(out, t)
  table.insert(out, redis.call('ZCARD', ARGV[1] .. t))
  table.insert(out, running)
  table.insert(out, delayed[t] or 0)
end
return out
