--[[ read-job-logs: a page of a job's log lines and the job's status, read atomically (so a
reader that sees the job finished has seen every line written before it finished).
KEYS:
  job         the job hash
  logs        log stream of the job
ARGV:
  after       read after this entry id (exclusive; '0-0' for the first line)
  count       at most this many lines (0: none, only the status)
Returns: {} when the job does not exist, else {status, lines cut so far, entry, entry, ...}
with each entry {id, {field, value, ...}} as XRANGE gives it.
]]
local job = redis.call('HMGET', KEYS[1], 'status', 'log_cut')
if not job[1] then return {} end
local out = {job[1], job[2] or '0'}
local count = tonumber(ARGV[2])
if count > 0 then
  for _, e in ipairs(redis.call('XRANGE', KEYS[2], '(' .. ARGV[1], '+', 'COUNT', count)) do
    table.insert(out, e)
  end
end
return out
