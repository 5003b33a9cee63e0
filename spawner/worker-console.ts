/**
 * The spawner console's lines about workers: ready (with a version-policy
 * warning), exit with its classified reason, and a job that failed. One line
 * each, with the worker's id, type and pid as fields.
 */
import type { LogFn } from '../core/logger';
import type { WorkerToSpawner } from '../core/schemas/ipc';
import type { ExitInfo } from './exit-reason';

interface WorkerRef {
  id: string;
  type: string;
  proc: { pid: number };
}

type Msg<T extends WorkerToSpawner['type']> = Extract<WorkerToSpawner, { type: T }>;

const ids = (w: WorkerRef) => ({ worker_id: w.id, worker_type: w.type, pid: w.proc.pid });

export function logWorkerReady(log: LogFn, w: WorkerRef, msg: Msg<'ready'>, readyMs: number): void {
  log('debug', `${w.id} ready`, { ...ids(w), framework: msg.framework, version: msg.version, ready_ms: readyMs });
  if (msg.warning) log('warn', `${w.id} version warning: ${msg.warning}`, { ...ids(w), warning: msg.warning });
}

export function logJobFailed(log: LogFn, w: WorkerRef, msg: Msg<'job-failed'>): void {
  const tries = msg.max_attempts ? `${msg.attempt}/${msg.max_attempts}` : String(msg.attempt);
  log(msg.outcome === 'cancelled' ? 'info' : 'warn', `job ${msg.job_id} ${msg.outcome} (attempt ${tries}): ${msg.error_type}: ${msg.message}`, {
    ...ids(w), job_id: msg.job_id, outcome: msg.outcome, error_type: msg.error_type, attempt: msg.attempt,
  });
}

export function logWorkerExit(log: LogFn, w: WorkerRef, info: ExitInfo, message: string): void {
  const r = info.reason.kind;
  const unexpected = r === 'crashed' || r === 'failed-to-start' || r === 'killed-memory' || r === 'killed-timeout';
  log(unexpected ? 'warn' : 'info', `${w.id} exited: ${message}`, {
    ...ids(w), reason: r, code: info.code ?? undefined, signal: info.signal ?? undefined, uptime_ms: info.uptimeMs,
    ...(info.peakRssMb !== undefined && { peak_rss_mb: info.peakRssMb }),
    ...(unexpected && info.stderrTail.length > 0 && { stderr_tail: info.stderrTail.slice(-5).join('\n') }),
  });
}
