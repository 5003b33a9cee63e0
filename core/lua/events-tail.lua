--[[ events-tail: the id of the newest entry of a stream (read-only), where a reader that
must not rescan the stream from its start begins.
KEYS:
  stream      the stream
ARGV: none
Returns: the id, or '0-0' when the stream is empty or missing.
]]
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest == 0 then return '0-0' end
return newest[1][1]
