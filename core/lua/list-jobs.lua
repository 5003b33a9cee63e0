--[[ list-jobs: a page of jobs, newest first, skipping (and unindexing) expired ones.
KEYS[1] index zset (all jobs, or one status)
ARGV[1] cursor: exclusive upper seq bound ('+inf' for the first page)   ARGV[2] limit
ARGV[3] worker type filter ('' for any)   ARGV[4] job key prefix
Returns {next cursor or '', job1 flat hash, job2 flat hash, ...}.
]]
local limit = tonumber(ARGV[2])
local maxScan = 5000
local upper = ARGV[1]
if upper ~= '+inf' then upper = '(' .. upper end
local out = {''}
local scanned = 0
local lastSeq = nil
while scanned < maxScan do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], upper, '-inf', 'WITHSCORES', 'LIMIT', 0, 200)
  if #batch == 0 then return out end
  for i = 1, #batch, 2 do
    local id, seq = batch[i], batch[i + 1]
    scanned = scanned + 1
    lastSeq = seq
    local jobKey = ARGV[4] .. id
    if redis.call('EXISTS', jobKey) == 0 then
      redis.call('ZREM', KEYS[1], id)
    elseif ARGV[3] == '' or redis.call('HGET', jobKey, 'type') == ARGV[3] then
      table.insert(out, redis.call('HGETALL', jobKey))
      if #out - 1 >= limit then
        out[1] = seq
        return out
      end
    end
  end
  upper = '(' .. lastSeq
end
out[1] = lastSeq
return out
