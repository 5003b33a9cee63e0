--[[ worker-transition: the one write of a worker record's status (and of its live fields), refused unless the record is in one of the allowed statuses.
KEYS:
  worker      the worker hash
  lease       the worker's lease
  workers     the set of all live workers
  of_type     the set of live workers of its type
ARGV:
  id          worker id
  to          target status; '' leaves the status as it is (a field update or heartbeat); 'none' drops the record (forget)
  allowed     comma-separated statuses the record may be in ('none': no record), built from core/worker-states.ts
  lease_ms    '' leaves the lease; else the lease is set to lease_value for this many ms
  lease_value what the lease holds (the time it was set)
  ttl_ms      on exited: how long the record stays readable
  ...fields   field, value pairs written with the status
Returns: {1, from} when applied, {0, from} when refused (from: the record's status, or 'none').
]]
local from = 'none'
if redis.call('EXISTS', KEYS[1]) == 1 then from = redis.call('HGET', KEYS[1], 'status') or 'none' end
local ok = false
for s in string.gmatch(ARGV[3], '[^,]+') do
  if s == from then ok = true end
end
if not ok then return {0, from} end
local to = ARGV[2]
if to == 'none' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
  return {1, from}
end
local hset = {}
if to ~= '' then hset = {'status', to} end
for i = 7, #ARGV, 2 do
  table.insert(hset, ARGV[i])
  table.insert(hset, ARGV[i + 1])
end
if #hset > 0 then redis.call('HSET', KEYS[1], unpack(hset)) end
if to == 'starting' then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('SADD', KEYS[4], ARGV[1])
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4]) end
if to == 'exited' then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[2])
end
return {1, from}
