--[[ replace-type-entry: rewrite one worker type's registry entry, unless it changed meanwhile.
Used to clean entries an older spawner wrote with env values or an interpreter path in them.
KEYS:
  types       types hash (the registry)
ARGV:
  type        worker type name
  read        the entry as read (JSON)
  cleaned     the cleaned entry (JSON)
Returns: 1 replaced | 0 the entry is no longer the one read (another spawner rewrote or removed it)
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
