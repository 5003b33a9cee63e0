/**
 * Dynamic batching (a Python type's `batch: {max_size, max_wait_ms}`): an inference job the
 * worker claimed while idle opens a batch; the worker claims more queued jobs of the same
 * model (claim-job.lua's only_model), polling every few ms until the batch holds max_size
 * jobs or max_wait_ms passed since the first claim, then the executor runs them in one
 * call (runBatch). Each job is still claimed, started, completed and failed on its own.
 */
import { jobModel, type JobStore } from '../core/job-store';
import type { JobRecord } from '../core/schemas/job';
import type { ExecContext, Executor } from './executor';

export interface BatchSettings { max_size: number; max_wait_ms: number }

const POLL_MS = 10;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether a claimed job may open a batch: an inference job with a model, on a worker that batches. */
export function batchable(job: JobRecord, settings: BatchSettings | undefined, executor: Executor): boolean {
  return settings !== undefined && settings.max_size > 1 && executor.runBatch !== undefined && jobModel(job.kind, job.payload) !== '';
}

/**
 * Claims more jobs of `first`'s model until the batch is full or max_wait_ms passed (or `stop()`).
 * Returns the jobs claimed besides `first`; a failed claim ends the filling (logged by the caller).
 */
export async function fillBatch(o: {
  store: JobStore; type: string; workerId: string; first: JobRecord; settings: BatchSettings;
  now: () => number; stop: () => boolean;
}): Promise<JobRecord[]> {
  const more: JobRecord[] = [];
  const deadline = o.now() + o.settings.max_wait_ms;
  const model = jobModel(o.first.kind, o.first.payload);
  for (;;) {
    const want = o.settings.max_size - 1 - more.length;
    if (want <= 0 || o.stop()) return more;
    more.push(...await o.store.claimModel(o.type, o.workerId, model, o.now(), want));
    const left = deadline - o.now();
    if (more.length >= o.settings.max_size - 1 || left <= 0) return more;
    await delay(Math.min(POLL_MS, left));
  }
}

/**
 * Gathers the jobs of a batch as the worker starts each (its own context, timeout and outcome),
 * then sends them to the executor together. A job that never reaches the executor (a payload
 * refused before it) is withdrawn, so the rest do not wait for it.
 */
export function createBatchGate(executor: Executor, size: number) {
  const items: { job: JobRecord; ctx: ExecContext; resolve: (p: Promise<unknown>) => void }[] = [];
  let expected = size;
  const flush = () => {
    if (items.length < expected || items.length === 0) return;
    const sent = (executor.runBatch as NonNullable<Executor['runBatch']>)(items.map(({ job, ctx }) => ({ job, ctx })));
    items.forEach((item, i) => item.resolve(sent[i] as Promise<unknown>));
  };
  return {
    run(job: JobRecord, ctx: ExecContext): Promise<unknown> {
      return new Promise<Promise<unknown>>((resolve) => {
        items.push({ job, ctx, resolve });
        flush();
      }).then((p) => p);
    },
    withdraw(): void {
      expected -= 1;
      flush();
    },
  };
}
