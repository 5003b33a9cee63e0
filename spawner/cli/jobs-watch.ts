/**
 * `jobs watch <id>`: follows GET /jobs/:id/events (SSE read from the response body),
 * reconnects when the stream drops, falls back to polling GET /jobs/:id when the
 * API has no event stream, and exits 0 / 1 / 2 for succeeded / failed / cancelled.
 */
import { KilnError } from '../../core/errors';
import type { CliContext } from './context';
import { exitCodeOfStatus } from './exit-codes';
import { callJson, openEventStream } from './http';
import { asRecord, isFinished, type JobInfo, num, numbers, readJob, str } from './job-view';
import { msOf } from './format';
import { jobPath } from './jobs';
import { intOption } from './options';
import { readSse } from './sse';
import { createWatchRenderer } from './watch-render';

/** How long the API may stay unreachable during a watch before it gives up. */
const GIVE_UP_MS = 30_000;

/** Orders Redis stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  try {
    const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs);
    return d === 0n ? 0 : d > 0n ? 1 : -1;
  } catch {
    return 0;
  }
}

/** The job after one event of its stream. */
export function applyEvent(job: JobInfo, event: string, data: Record<string, unknown>): JobInfo {
  const status = str(data.status);
  const ts = msOf(data.ts); // an ISO-8601 time, as in every view
  const next: JobInfo = { ...job };
  if (event === 'progress' || data.progress !== undefined) {
    next.progress = num(data.progress) ?? job.progress;
    next.message = str(data.message) || null;
    if (data.metrics !== undefined) next.metrics = numbers(data.metrics);
  }
  if (status) {
    next.status = status;
    if (status === 'running' && job.status !== 'running' && ts !== undefined) next.startedMs = ts;
    if (status === 'queued' || status === 'delayed') next.startedMs = undefined;
    if (isFinished(status) && ts !== undefined) next.finishedMs = ts;
  }
  return next;
}

interface Follow {
  ctx: CliContext;
  id: string;
  intervalMs: number;
  signal: AbortSignal;
  onChange(job: JobInfo, ev?: { event: string; data: Record<string, unknown> }): void;
}

async function getJob(ctx: CliContext, id: string): Promise<JobInfo> {
  return readJob((await callJson(ctx.io.http, ctx.api(), 'GET', jobPath(id))).body);
}

/** Reads one connection of the event stream; the finished job, or undefined when it dropped first. */
async function readStream(f: Follow, state: { job: JobInfo; lastId: string | undefined; replayed: boolean }): Promise<JobInfo | undefined> {
  // after a drop (or the stream's lifetime: a `reconnect` event), go on from the last event seen
  const body = await openEventStream(f.ctx.io.http, f.ctx.api(), jobPath(f.id, '/events'), f.signal, state.lastId);
  if (!state.replayed) {
    // the stream replays the job from its submit: start the picture from there
    state.replayed = true;
    state.job = { ...state.job, status: 'queued', progress: 0, message: null, metrics: null, startedMs: undefined };
  }
  for await (const ev of readSse(body)) {
    if (ev.id && state.lastId && compareStreamIds(ev.id, state.lastId) <= 0) continue;
    if (ev.id) state.lastId = ev.id;
    let data: Record<string, unknown>;
    try {
      data = asRecord(JSON.parse(ev.data));
    } catch {
      continue;
    }
    if (ev.event === 'end') return readJob(data);
    if (ev.event !== 'status' && ev.event !== 'progress') continue;
    state.job = applyEvent(state.job, ev.event, data);
    f.onChange(state.job, { event: ev.event, data });
  }
  return undefined;
}

async function follow(f: Follow, first: JobInfo): Promise<JobInfo> {
  const state = { job: first, lastId: undefined as string | undefined, replayed: false };
  let sse = true;
  let failingSince: number | undefined;
  const failed = (err: unknown) => {
    if (f.signal.aborted || !(err instanceof KilnError) || err.code === 'JOB_NOT_FOUND') throw err;
    // an API without the event stream (a missing route, a proxy that buffers it): poll instead
    // (and an API that serves as many event streams as it may: 429)
    if (sse && (err.code === 'NOT_AN_EVENT_STREAM' || err.status === 404 || err.status === 429)) {
      sse = false;
      return;
    }
    // unreachable or 5xx: try again for a while
    if (err.code === 'UNREACHABLE' || err.status >= 500) {
      failingSince ??= f.ctx.io.now();
      if (f.ctx.io.now() - failingSince > GIVE_UP_MS) throw err;
      return;
    }
    throw err;
  };
  for (;;) {
    if (sse) {
      try {
        const end = await readStream(f, state);
        failingSince = undefined;
        if (end) return end;
      } catch (err) {
        failed(err);
      }
    }
    try {
      const job = await getJob(f.ctx, f.id);
      failingSince = undefined;
      if (isFinished(job.status)) return job;
      if (!sse) {
        state.job = job;
        f.onChange(job);
      }
    } catch (err) {
      failed(err);
    }
    await f.ctx.io.sleep(sse ? Math.min(f.intervalMs, 500) : f.intervalMs, f.signal);
  }
}

export async function watchJob(ctx: CliContext, id: string): Promise<number> {
  const intervalMs = intOption(ctx.opts, 'interval-ms', { min: 50, max: 600_000 }) ?? 1000;
  const first = await getJob(ctx, id);
  const render = createWatchRenderer(ctx, first);
  const abort = new AbortController();
  const unsubscribe = ctx.io.onInterrupt(() => abort.abort());
  try {
    const end = isFinished(first.status) ? first : await follow({ ctx, id, intervalMs, signal: abort.signal, onChange: (j, ev) => render.update(j, ev) }, first);
    render.end(end);
    return exitCodeOfStatus(end.status);
  } catch (err) {
    if (abort.signal.aborted) {
      render.close();
      ctx.io.err(`\nstopped watching; the job goes on (${ctx.program} jobs cancel ${id} stops it)\n`);
      return 130;
    }
    throw err;
  } finally {
    render.close();
    unsubscribe();
  }
}
