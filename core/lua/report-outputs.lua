--[[ report-outputs: append a running job's partial outputs (a generator handler's yields:
tokens, chunks) to the events stream as `output` entries, in order, if this worker still
holds the job.
KEYS:
  active      active zset of the worker
  events      events stream
ARGV:
  job_id      job id
  now         now (ms)
  maxlen      events maxlen (the stream is shared by every job: an output older than the newest ~maxlen entries is trimmed)
  attempt     the job's attempt (a retried job streams its outputs again, from seq 0)
  first_seq   the index of the first output given here among the attempt's outputs (0, 1, …)
  ...outputs  the outputs, oldest first, each a JSON text
Returns: 1 when appended, 0 when the worker no longer holds the job.
]]
--@include _helpers
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
local seq = tonumber(ARGV[5])
for i = 6, #ARGV do
  emit(KEYS[2], ARGV[3], 'job', ARGV[1], 'output', ARGV[i], 'seq', seq, 'attempt', ARGV[4], 'ts', ARGV[2])
  seq = seq + 1
end
return 1
