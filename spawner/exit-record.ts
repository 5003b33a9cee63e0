/** What a worker's exit leaves in Redis: the error its jobs carry, and the exit fields its record keeps for an hour. */
import type { JobError } from '../core/schemas/job';
import type { WorkerFields } from '../core/worker-store';
import type { ExitInfo } from './exit-reason';

/** The error of each job the worker held when it ended. */
export function exitJobError(info: ExitInfo, message: string, workerId: string, now: number): JobError {
  const kind = info.reason.kind;
  return {
    type: kind === 'killed-timeout' ? 'timeout' : kind === 'killed-memory' ? 'memory_limit' : 'worker_exit',
    message, exit_code: info.code, signal: info.signal, stderr_tail: info.stderrTail,
    ...(info.peakRssMb !== undefined && { peak_rss_mb: info.peakRssMb }), worker_id: workerId, at: now,
  };
}

/** The exit diagnostics GET /workers/:id shows (written by WorkerStore.exited). */
export function exitFields(info: ExitInfo, message: string, now: number): WorkerFields {
  return {
    exit_reason: info.reason.kind, exit_message: message, exit_code: info.code ?? '', exit_signal: info.signal ?? '',
    stderr_tail: JSON.stringify(info.stderrTail), peak_rss_mb: info.peakRssMb ?? '', exited_at: now,
  };
}
