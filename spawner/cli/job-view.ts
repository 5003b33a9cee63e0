/**
 * Reads the API's job JSON into the fields the CLI shows. Small guards instead of
 * zod: importing zod would cost ~60 ms of the CLI's start.
 */
import { msOf } from './format';

export interface JobInfo {
  id: string;
  status: string;
  type: string;
  kind: string;
  attempts: number;
  maxAttempts: number;
  progress: number;
  message: string | null;
  createdMs: number | undefined;
  startedMs: number | undefined;
  finishedMs: number | undefined;
  workerId: string | null;
  waitingReason: string | null;
  error: { type: string; message: string } | null;
  result: unknown;
  metrics: Record<string, number> | null;
  timings: Record<string, unknown> | null;
  /** The JSON as the API sent it (for --json). */
  raw: Record<string, unknown>;
}

export const FINISHED = ['succeeded', 'failed', 'cancelled', 'expired'] as const;
export const isFinished = (status: string): boolean => (FINISHED as readonly string[]).includes(status);

export const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const num = (v: unknown): number | null => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
};

/** The finite numbers of an object (progress metrics), or null when none. */
export function numbers(v: unknown): Record<string, number> | null {
  const r = asRecord(v);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(r)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
  return Object.keys(out).length > 0 ? out : null;
}

export function readJob(body: unknown): JobInfo {
  const j = asRecord(body);
  const err = asRecord(j.error);
  return {
    id: str(j.job_id) ?? '?',
    status: str(j.status) ?? 'unknown',
    type: str(j.worker_type) ?? '?',
    kind: str(j.kind) ?? '?',
    attempts: num(j.attempts) ?? 0,
    maxAttempts: num(j.max_attempts) ?? 0,
    progress: num(j.progress) ?? 0,
    message: str(j.progress_message),
    createdMs: msOf(j.created_at),
    startedMs: msOf(j.started_at),
    finishedMs: msOf(j.finished_at),
    workerId: str(j.worker_id),
    waitingReason: str(j.waiting_reason),
    error: j.error ? { type: str(err.exception) ?? str(err.type) ?? 'unknown', message: str(err.message) ?? JSON.stringify(j.error) } : null,
    result: j.result ?? null,
    metrics: numbers(j.progress_metrics),
    timings: j.timings && typeof j.timings === 'object' ? asRecord(j.timings) : null,
    raw: j,
  };
}

/** Wall time the job has run (to its end, or to now), or undefined before it starts. */
export function runMs(job: Pick<JobInfo, 'startedMs' | 'finishedMs'>, now: number): number | undefined {
  return job.startedMs === undefined ? undefined : (job.finishedMs ?? now) - job.startedMs;
}

/** `loss=0.312 accuracy=0.9` (4 significant digits). */
export function formatMetrics(m: Record<string, number> | null): string {
  if (!m) return '';
  return Object.entries(m).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`).join(' ');
}
