/**
 * A job as a listing shows it (GET /jobs): what it is, where it stands, and when,
 * without its payload, result, error history or metrics. Every string is cut to a
 * fixed length (and progress metrics are capped at 32), so a page of 500 stays under
 * ~2 MB whatever the jobs hold
 * (core/lua/list-jobs.lua reads only these fields).
 */
import { z } from 'zod';
import { isJobErrorType, type JobErrorType } from '../errors';
import { JOB_STATUSES, jobTimings } from './job';
import { metricsJson } from './progress';

const num = z.coerce.number();
const optNum = z.coerce.number().optional();
const lenientJson = z.string().transform((s): unknown => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
});

/** The fields list-jobs.lua returns for a job. */
export const jobSummaryRecordSchema = z.object({
  id: z.string(),
  seq: num,
  type: z.string(),
  kind: z.enum(['training', 'inference', 'function', 'generic']),
  status: z.enum(JOB_STATUSES),
  priority: num,
  attempts: num,
  max_attempts: num,
  timeout_ms: num,
  progress: num.default(0),
  progress_message: z.string().optional(),
  worker_id: z.string().optional(),
  created_at: num,
  started_at: optNum,
  finished_at: optNum,
  run_at: optNum,
  queued_at: optNum,
  cold_start: lenientJson.optional(),
  cold_start_attempt: optNum,
  /** The latest progress metrics (at most METRICS_MAX_KEYS numbers, so small). */
  progress_metrics: metricsJson.optional(),
  /** Only when it is small (its label is read from it). */
  payload: lenientJson.optional(),
  error: lenientJson.optional(),
  /** Set instead of `error` when that is too large to read for a listing (its length). */
  error_too_large: z.string().optional(),
});
export type JobSummaryRecord = z.infer<typeof jobSummaryRecordSchema>;

/** Lengths a summary's strings are cut to (characters). */
export const SUMMARY_LIMITS = { message: 200, label: 80, workerId: 128 } as const;

const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** What the job runs, for a list: `echo()`, `training · random_forest`, a handler's name, or null. */
export function jobLabel(kind: string, payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const p = payload as Record<string, unknown>;
  if (typeof p.function === 'string') return clip(`${p.function}()`, SUMMARY_LIMITS.label);
  if (typeof p.model_type === 'string') return clip(`${kind} · ${p.model_type}`, SUMMARY_LIMITS.label);
  if (typeof p.handler === 'string') return clip(p.handler, SUMMARY_LIMITS.label);
  return null;
}

function errorSummary(job: JobSummaryRecord): { type: JobErrorType; message: string } | null {
  if (job.error_too_large !== undefined) {
    return { type: 'unknown', message: `the error is too large for a listing (${job.error_too_large} bytes); GET /jobs/${job.id} shows it` };
  }
  if (job.error === undefined || job.error === null) return null;
  const e = typeof job.error === 'object' ? (job.error as Record<string, unknown>) : {};
  return {
    type: isJobErrorType(e.type) ? e.type : 'unknown',
    message: clip(typeof e.message === 'string' ? e.message : String(job.error), SUMMARY_LIMITS.message),
  };
}

/** The public JSON shape of a job in a listing. */
export function jobSummaryView(job: JobSummaryRecord): Record<string, unknown> {
  return {
    job_id: job.id,
    status: job.status,
    worker_type: job.type,
    kind: job.kind,
    label: jobLabel(job.kind, job.payload),
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    timeout_s: job.timeout_ms > 0 ? job.timeout_ms / 1000 : null,
    progress: job.progress,
    progress_message: job.progress_message === undefined ? null : clip(job.progress_message, SUMMARY_LIMITS.message),
    progress_metrics: job.progress_metrics ?? null,
    error: errorSummary(job),
    worker_id: job.worker_id === undefined ? null : clip(job.worker_id, SUMMARY_LIMITS.workerId),
    created_at: iso(job.created_at),
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    run_at: iso(job.run_at),
    timings: jobTimings(job),
  };
}
