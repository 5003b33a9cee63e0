--[[ probe-write: the health probe, one small write that Redis refuses the way it
refuses a submit when it cannot take writes (maxmemory reached → OOM, a read-only replica).
KEYS:
  probe       probe key
ARGV:
  value       value (the caller's clock, ms)
  ttl_ms      time to live, ms
Returns: 1.
]]
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
