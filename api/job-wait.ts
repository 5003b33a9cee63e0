/**
 * Synchronous results: a submit with `?wait=<seconds>` (RunPod's /runsync, Modal's
 * `.remote()`) holds the answer until the job ends — succeeded, failed, cancelled or
 * expired — and answers 200 with the job (GET /jobs/{id}'s body), or, when the wait
 * runs out first, the usual 202 with the job's status then and `wait_expired: true`.
 *
 * The wait polls the job's record with a short, growing interval (no blocking
 * command, so it runs in workerd too): 20 ms, then ×1.5 up to 250 ms. On Node a
 * JobEndWatch (api/job-end-watch.ts: one blocking read of the events stream per
 * process) wakes it as the job ends, and the polls slow to 1 s as a fallback; the polls
 * of every waiting request share the API's one (auto-pipelined) connection, so no
 * connection is held per request. Each process (or workerd isolate) holds at most
 * KILN_MAX_WAITS waiting submits; past that a submit with `wait` is refused before
 * anything is queued (429 TOO_MANY_WAITS).
 */
import type { Context } from 'hono';
import { badRequest, KilnError } from '../core/errors';
import type { JobStore } from '../core/job-store';
import type { JobStatus } from '../core/keys';
import { ownValue } from '../core/own-keys';
import { FINISHED_STATUSES, type JobRecord, jobView } from '../core/schemas/job';
import { historyPointView } from '../core/schemas/progress';
import type { ApiDeps } from './deps';
import type { JobEndWatch } from './job-end-watch';

/** The longest `wait` a submit may ask for, in seconds. */
export const MAX_WAIT_S = 60;
export const FIRST_POLL_MS = 20;
export const MAX_POLL_MS = 250;
/** The polls' pace when a JobEndWatch wakes the wait. */
export const MAX_POLL_MS_WATCHED = 1000;
/** Seconds a submit refused for want of a wait slot should wait before it comes back. */
export const WAITS_RETRY_AFTER_S = 1;

/** `?wait=` as milliseconds (0: no wait); a bad value is a 400 naming the parameter and its bounds. */
export function parseWait(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const s = raw.trim();
  const n = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(n) || n < 0 || n > MAX_WAIT_S) {
    throw badRequest(
      'VALIDATION_ERROR',
      `wait: seconds to wait for the job to end, a number from 0 to ${MAX_WAIT_S} (fractions allowed, e.g. 0.5), not ${JSON.stringify(raw.slice(0, 40))}`,
      'wait',
    );
  }
  return Math.round(n * 1000);
}

export function tooManyWaits(max: number): KilnError {
  return new KilnError(
    'TOO_MANY_WAITS',
    `this API process already holds ${max} submits waiting for their jobs (KILN_MAX_WAITS); nothing was queued. Retry after ${WAITS_RETRY_AFTER_S} s, or submit without wait and poll GET /jobs/{id}`,
    { status: 429, field: 'wait', headers: { 'retry-after': String(WAITS_RETRY_AFTER_S) } },
  );
}

const isFinished = (status: string) => FINISHED_STATUSES.includes(status as JobStatus);

/**
 * Reads the job until it has ended or `waitMs` has passed (or the client went away);
 * returns its last record (null when it is gone).
 */
export async function pollJob(
  store: JobStore, id: string, waitMs: number, o: { now: () => number; signal?: AbortSignal | undefined; watch?: JobEndWatch | undefined },
): Promise<JobRecord | null> {
  const deadline = o.now() + waitMs;
  const watched = o.watch?.watch(id);
  const maxPoll = watched ? MAX_POLL_MS_WATCHED : MAX_POLL_MS;
  try {
    await watched?.ready; // from here on the watch sees the job's end
    let interval = FIRST_POLL_MS;
    for (;;) {
      const job = await store.get(id);
      if (!job || isFinished(job.status)) return job;
      const left = deadline - o.now();
      if (left <= 0 || o.signal?.aborted) return job;
      await sleepUnless(Math.min(interval, left), watched?.ended, o.signal);
      interval = Math.min(maxPoll, Math.ceil(interval * 1.5));
    }
  } finally {
    watched?.close();
  }
}

/** Sleeps `ms`, or less when `wake` resolves or `signal` aborts (the client went away) first. */
async function sleepUnless(ms: number, wake: Promise<void> | undefined, signal: AbortSignal | undefined): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((r) => {
    onAbort = () => r();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  await Promise.race([new Promise((r) => { timer = setTimeout(r, ms); }), aborted, ...(wake ? [wake] : [])]);
  if (timer !== undefined) clearTimeout(timer);
  if (onAbort) signal?.removeEventListener('abort', onAbort);
}

/** GET /jobs/{id}'s body: the job with its metrics history and, while queued, why it waits. */
export async function fullJobView(deps: ApiDeps, job: JobRecord): Promise<ReturnType<typeof jobView>> {
  const view = jobView(job);
  view.metrics_history = (await deps.store.progressHistory(job.id)).map(historyPointView);
  // why a queued job waits, as its type's spawners published it (null: nothing holds it back)
  view.waiting_reason = job.status === 'queued' ? ownValue(await deps.redis.hgetall(deps.keys.typeState()), job.type) ?? null : null;
  return view;
}

/** The submit's answer after waiting up to `waitMs` for its job: 200 with the ended job, else the submit's own answer. */
export async function answerAfterWait(
  c: Context, deps: ApiDeps, out: { status: number; body: { job_id: string; status: string } }, waitMs: number,
): Promise<Response> {
  const job = await pollJob(deps.store, out.body.job_id, waitMs, { now: deps.now, signal: c.req.raw.signal, watch: deps.jobEnds });
  if (job && isFinished(job.status)) return c.json(await fullJobView(deps, job), 200);
  const status = job?.status ?? out.body.status;
  return c.json({ ...out.body, status, wait_expired: true }, out.status as 200 | 202);
}
