/** What a worker's exit leaves in Redis: the error its jobs carry, and its record kept for an hour. */
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys';
import type { JobError } from '../core/schemas/job';
import type { ExitInfo } from './exit-reason';

const EXITED_RECORD_TTL_MS = 3600_000;

/** The error of each job the worker held when it ended. */
export function exitJobError(info: ExitInfo, message: string, workerId: string, now: number): JobError {
  const kind = info.reason.kind;
  return {
    type: kind === 'killed-timeout' ? 'timeout' : kind === 'killed-memory' ? 'memory_limit' : 'worker_exit',
    message, exit_code: info.code, signal: info.signal, stderr_tail: info.stderrTail,
    ...(info.peakRssMb !== undefined && { peak_rss_mb: info.peakRssMb }), worker_id: workerId, at: now,
  };
}

/** The record stays readable for an hour (GET /workers/:id) with the exit diagnostics; live listings drop it. */
export async function recordExit(redis: Redis, keys: Keys, w: { id: string; type: string }, info: ExitInfo, message: string, now: number): Promise<void> {
  await redis
    .multi()
    .hset(keys.worker(w.id), {
      status: 'exited', exit_reason: info.reason.kind, exit_message: message, exit_code: info.code ?? '', exit_signal: info.signal ?? '',
      stderr_tail: JSON.stringify(info.stderrTail), peak_rss_mb: info.peakRssMb ?? '', exited_at: now,
    })
    .pexpire(keys.worker(w.id), EXITED_RECORD_TTL_MS)
    .srem(keys.workers(), w.id)
    .srem(keys.workersOfType(w.type), w.id)
    .del(keys.lease(w.id))
    .exec();
}
