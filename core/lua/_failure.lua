-- Shared fragment: after a failed attempt, put the job back (queue or delayed set)
-- while attempts remain and the error is retryable, or fail it for good. A job that ends
-- here gives its log stream (logKey) and progress history (progressKey) the job's own expiry.
local function settle_failure(jobKey, runningIdx, failedIdx, queuedIdx, queueKey, notifyKey,
                              delayedKey, delayedIdx, cancelledIdx, events, id, now, errJson, retryable,
                              backoffMs, retentionMs, maxlen, logKey, progressKey)
  push_error(jobKey, errJson)
  local job = redis.call('HMGET', jobKey, 'attempts', 'max_attempts', 'seq', 'priority', 'type', 'cancel_requested')
  local attempts, maxAttempts, seq = tonumber(job[1]), tonumber(job[2]), job[3]
  redis.call('ZREM', runningIdx, id)
  if job[6] then
    -- a cancel was asked for: the job ends cancelled, whatever stopped it
    redis.call('HSET', jobKey, 'status', 'cancelled', 'finished_at', now)
    redis.call('ZADD', cancelledIdx, seq, id)
    redis.call('PEXPIRE', jobKey, retentionMs)
    redis.call('PEXPIRE', logKey, retentionMs)
    redis.call('PEXPIRE', progressKey, retentionMs) -- its progress history
    emit(events, maxlen, 'job', id, 'status', 'cancelled', 'type', job[5], 'ts', now)
    return 'cancelled'
  end
  if retryable and attempts < maxAttempts then
    redis.call('HDEL', jobKey, 'worker_id')
    if backoffMs > 0 then
      local at = tonumber(now) + backoffMs
      redis.call('HSET', jobKey, 'status', 'delayed', 'run_at', at)
      redis.call('ZADD', delayedKey, at, id)
      redis.call('ZADD', delayedIdx, seq, id)
      emit(events, maxlen, 'job', id, 'status', 'delayed', 'type', job[5], 'ts', now, 'run_at', at)
      return 'delayed'
    end
    redis.call('HSET', jobKey, 'status', 'queued', 'queued_at', now)
    redis.call('ZADD', queueKey, queue_score(job[4], seq), id)
    redis.call('ZADD', queuedIdx, seq, id)
    redis.call('LPUSH', notifyKey, '1')
    redis.call('LTRIM', notifyKey, 0, 999)
    emit(events, maxlen, 'job', id, 'status', 'queued', 'type', job[5], 'ts', now, 'retry', attempts)
    return 'queued'
  end
  redis.call('HSET', jobKey, 'status', 'failed', 'finished_at', now)
  redis.call('ZADD', failedIdx, seq, id)
  redis.call('PEXPIRE', jobKey, retentionMs)
  redis.call('PEXPIRE', logKey, retentionMs)
  redis.call('PEXPIRE', progressKey, retentionMs) -- its progress history
  emit(events, maxlen, 'job', id, 'status', 'failed', 'type', job[5], 'ts', now)
  return 'failed'
end
