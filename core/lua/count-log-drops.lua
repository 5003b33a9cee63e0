--[[ count-log-drops: add the job log lines a worker could not store to its record.
KEYS:
  worker      worker hash
ARGV:
  dropped     lines dropped since the last report
Returns: 1 when counted (field log_lines_dropped), 0 when the worker record is gone.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'log_lines_dropped', ARGV[1])
return 1
