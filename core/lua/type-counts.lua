--[[ type-counts: per registered worker type, its queued, running and delayed jobs (read-only).
KEYS[1] types hash (the registry)   KEYS[2] delayed zset
ARGV[1] queue key prefix   ARGV[2] workers-of-type key prefix   ARGV[3] active key prefix
ARGV[4] job key prefix   ARGV[5] look at most at this many delayed jobs (the soonest due)
Per-type keys are derived from the type and worker names (prefix .. name), as claim derives job keys.
Running: the jobs held by the type's live workers, on every host.
Returns a flat array {type, queued, running, delayed, type, queued, …}.
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
