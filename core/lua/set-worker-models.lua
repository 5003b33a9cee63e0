--[[ set-worker-models: a worker's advertised models (its runner's model cache: training job ids), kept exact.
Replaces the worker's set and its membership in each model's set of holders (read by the claim
scripts' affinity). A worker whose record is gone or exited holds nothing (a late write never
revives it); requeue-worker-jobs.lua clears the sets when the worker goes.
KEYS:
  models      the worker's set of held models
  worker      the worker hash
ARGV:
  worker_id   worker id
  holders_prefix  key prefix of a model's set of holders
  ...model_ids  the models the worker now holds
DERIVED:
  holders_prefix .. <model>   the set of workers holding each model added or dropped
Returns: the number of models the worker now holds.
]]
local st = redis.call('HGET', KEYS[2], 'status')
local keep = {}
if st and st ~= 'exited' then
  for i = 3, #ARGV do keep[ARGV[i]] = true end
end
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not keep[m] then
    redis.call('SREM', KEYS[1], m)
    redis.call('SREM', ARGV[2] .. m, ARGV[1])
  end
end
local n = 0
for m in pairs(keep) do
  redis.call('SADD', KEYS[1], m)
  redis.call('SADD', ARGV[2] .. m, ARGV[1])
  n = n + 1
end
return n
