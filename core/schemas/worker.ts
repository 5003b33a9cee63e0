import { z } from 'zod';
import { ownValue } from '../own-keys';
import { type BootTimings, bootTimingsSchema } from './ipc';

import { WORKER_STATUSES } from '../worker-states';

export { WORKER_STATUSES, type WorkerStatus } from '../worker-states';

const num = z.coerce.number();

/** A worker hash as read back from Redis. */
export const workerRecordSchema = z.object({
  worker_id: z.string(),
  worker_type: z.string(),
  process_id: num,
  status: z.enum(WORKER_STATUSES),
  created_at: num,
  last_activity: num,
  job_count: num.default(0),
  max_jobs: num,
  working_directory: z.string(),
  host: z.string().default('local'),
  gpu: z.string().optional(),
  rss_bytes: num.optional(),
  gpu_memory_mb: num.optional(),
  runner_pid: num.optional(),
  last_heartbeat: num.optional(),
  ready_at: num.optional(),
  status_reason: z.string().optional(),
  exit_reason: z.string().optional(),
  exit_message: z.string().optional(),
  exit_code: z.string().optional(),
  exit_signal: z.string().optional(),
  stderr_tail: z.string().optional(),
  peak_rss_mb: z.string().optional(),
  exited_at: num.optional(),
  /** A version-policy "warn" mismatch the worker reported when it became ready. */
  warning: z.string().optional(),
  /** Where the worker's own start went (JSON BootTimings from its ready message). */
  boot_timings: z.string().optional(),
});
export type WorkerRecord = z.infer<typeof workerRecordSchema>;

function bootTimings(raw: string | undefined): BootTimings | null {
  if (!raw) return null;
  try {
    const r = bootTimingsSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** The seed's worker_details entry. */
export function workerView(w: WorkerRecord): Record<string, unknown> {
  return {
    worker_id: w.worker_id,
    worker_type: w.worker_type,
    process_id: w.process_id,
    status: w.status,
    created_at: new Date(w.created_at).toISOString(),
    last_activity: new Date(w.last_activity).toISOString(),
    job_count: w.job_count,
    max_jobs: w.max_jobs,
    working_directory: w.working_directory,
    host: w.host,
    gpu: w.gpu ?? null,
    rss_bytes: w.rss_bytes ?? null,
    gpu_memory_mb: w.gpu_memory_mb ?? null,
    runner_pid: w.runner_pid ?? null,
    last_heartbeat: w.last_heartbeat === undefined ? null : new Date(w.last_heartbeat).toISOString(),
    status_reason: w.status_reason ?? null,
    warning: w.warning ?? null,
    boot_timings: bootTimings(w.boot_timings),
    ...(w.status === 'exited' && {
      exit: {
        reason: w.exit_reason ?? null,
        message: w.exit_message ?? null,
        code: w.exit_code ? Number(w.exit_code) : null,
        signal: w.exit_signal || null,
        stderr_tail: w.stderr_tail ? (JSON.parse(w.stderr_tail) as string[]) : [],
        peak_rss_mb: w.peak_rss_mb ? Number(w.peak_rss_mb) : null,
        exited_at: w.exited_at === undefined ? null : new Date(w.exited_at).toISOString(),
      },
    }),
  };
}

export interface WorkersStatus {
  total_workers: number;
  active_workers: number;
  workers_by_type: Record<string, number>;
  worker_details: Record<string, Record<string, unknown>>;
}

/** GET /workers/status, the same shape from the API and the spawner. */
export function workersStatusView(workers: WorkerRecord[]): WorkersStatus {
  const byType: Record<string, number> = {};
  const details: Record<string, Record<string, unknown>> = {};
  let active = 0;
  for (const w of workers) {
    byType[w.worker_type] = (ownValue(byType, w.worker_type) ?? 0) + 1;
    if (w.status === 'busy') active++;
    details[w.worker_id] = workerView(w);
  }
  return { total_workers: workers.length, active_workers: active, workers_by_type: byType, worker_details: details };
}
