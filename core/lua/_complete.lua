-- Shared fragment: records a job's result when the worker still holds it (it is in the
-- worker's active set). Returns 1 when recorded, 0 when the worker no longer holds it
-- (requeued or cancelled: an outcome, not an error). The job expires after retentionMs,
-- with its log and progress history. workerKey false: the caller counts the worker's job_count.
local function complete_one(jobKey, activeKey, workerKey, runningIdx, succeededIdx, events, logsKey, progressKey,
                            id, workerId, now, result, retentionMs, maxlen)
  if redis.call('ZREM', activeKey, id) == 0 then return 0 end
  redis.call('HSET', jobKey, 'status', 'succeeded', 'result', result, 'finished_at', now, 'progress', 1)
  redis.call('ZREM', runningIdx, id)
  redis.call('ZADD', succeededIdx, redis.call('HGET', jobKey, 'seq'), id)
  redis.call('PEXPIRE', jobKey, retentionMs)
  redis.call('PEXPIRE', logsKey, retentionMs)
  redis.call('PEXPIRE', progressKey, retentionMs) -- its progress history
  if workerKey and redis.call('EXISTS', workerKey) == 1 then redis.call('HINCRBY', workerKey, 'job_count', 1) end
  emit(events, maxlen, 'job', id, 'status', 'succeeded', 'worker', workerId, 'ts', now)
  return 1
end
