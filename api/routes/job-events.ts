/**
 * GET /jobs/:id/events — the job's transitions as Server-Sent Events, ending when
 * the job ends, with its log lines as `log` events. Reads the capped events stream
 * and the job's log at an interval (no blocking command, so it runs in workerd too).
 *
 * Bounded work per stream: a finished job is answered from its record at once; a
 * live one replays its own events only when they lie within the newest
 * CATCHUP_ENTRIES entries of the shared stream, else it starts from the job's record
 * and the stream's tail (never a rescan of the stream from the job's creation). A
 * stream lives at most `sseMaxLifetimeMs`, then ends with a `reconnect` event whose id
 * a client sends back as Last-Event-ID.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { badRequest, notFound } from '../../core/errors';
import { compareStreamIds, eventsTail, STREAM_ID } from '../../core/events-stream';
import type { JobStore } from '../../core/job-store';
import type { JobStatus } from '../../core/keys';
import { FINISHED_STATUSES, type JobRecord, jobView } from '../../core/schemas/job';
import { streamEventData } from '../../core/schemas/progress';
import type { AppDeps } from '../deps';
import { consoleLogger } from '../errors';
import { runStream, type SseStreams, tooManyStreams } from '../sse-streams';
import { logTail, RECONNECT_REASON } from './job-logs';

/** Entries of the shared events stream a new connection may read to replay a live job's past. */
export const CATCHUP_ENTRIES = 1000;
const BATCH = 500;

const iso = (ms: number) => new Date(ms).toISOString();
const isFinished = (status: string) => FINISHED_STATUSES.includes(status as JobStatus);

/** The transitions a job's record shows, as the stream's events carry them (no ids: they are not stream entries). */
export function recordEvents(job: JobRecord): { event: 'status' | 'progress'; data: Record<string, unknown> }[] {
  const base = { job_id: job.id, type: job.type };
  const out: { event: 'status' | 'progress'; data: Record<string, unknown> }[] = [
    { event: 'status', data: { ...base, status: 'queued', ts: iso(job.created_at) } },
  ];
  if (job.started_at !== undefined) {
    out.push({ event: 'status', data: { ...base, status: 'running', ts: iso(job.started_at), ...(job.worker_id && { worker: job.worker_id }) } });
  }
  if (job.status === 'running' && job.progress > 0) {
    out.push({ event: 'progress', data: { job_id: job.id, status: 'running', progress: job.progress, message: job.progress_message ?? '', ts: iso(job.started_at ?? job.created_at), ...(job.progress_metrics && { metrics: job.progress_metrics }) } });
  }
  if (job.status !== 'queued' && job.status !== 'running') {
    out.push({ event: 'status', data: { ...base, status: job.status, ts: iso(job.finished_at ?? job.run_at ?? job.created_at), ...(job.run_at !== undefined && job.status === 'delayed' && { run_at: iso(job.run_at) }) } });
  }
  return out;
}

/** An `output` entry's value and index, as the worker wrote them (JSON text; a number). */
function outputEventData(fields: Record<string, string>): { output: unknown; seq: number; attempt: number } {
  let output: unknown = null;
  try {
    output = JSON.parse(fields.output ?? 'null');
  } catch {
    // not written by a Kiln worker: sent as null
  }
  return { output, seq: Number(fields.seq ?? 0), attempt: Number(fields.attempt ?? 1) };
}

export async function jobEvents(c: Context, deps: AppDeps, store: JobStore, streams: SseStreams): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const lastEventId = c.req.header('last-event-id');
  if (lastEventId !== undefined && !STREAM_ID.test(lastEventId)) {
    throw badRequest('VALIDATION_ERROR', 'Last-Event-ID: not an event id (the id: of an earlier event of this stream)', 'Last-Event-ID');
  }
  const job = await store.get(id);
  if (!job) throw notFound('JOB_NOT_FOUND', `no job ${id}: it never existed or expired after its retention time`);
  const release = streams.acquire();
  if (!release) return tooManyStreams(c, deps.config.sseMaxStreams);
  const pollMs = Math.max(100, deps.config.ssePollMs);
  const deadline = deps.now() + deps.config.sseMaxLifetimeMs;
  const logger = deps.logger ?? consoleLogger;
  return streamSSE(c, (stream) =>
    runStream(stream, { release, logger, what: `event stream of job ${id}` }, () => follow(stream, { deps, store, job, lastEventId, pollMs, deadline })));
}

async function follow(stream: SSEStreamingApi, o: {
  deps: AppDeps; store: JobStore; job: JobRecord; lastEventId: string | undefined; pollMs: number; deadline: number;
}): Promise<void> {
  const { deps, store, job } = o;
  const id = job.id;
  const events = deps.keys.events();
  let closed = false;
  stream.onAbort(() => {
    closed = true;
  });
  // a resumed stream sends the log lines written after the event it saw last
  const logs = logTail(deps, id, (line) => stream.writeSSE({ event: 'log', data: JSON.stringify({ job_id: id, ...line }) }), o.lastEventId);
  const sendRecord = async (record: JobRecord) => {
    for (const e of recordEvents(record)) await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
  };
  const end = async () => {
    await logs.next(() => closed); // the lines written before the job ended
    if (closed) return;
    const last = await store.get(id);
    await stream.writeSSE({ event: 'end', data: JSON.stringify(last ? jobView(last) : { job_id: id, status: 'gone' }) });
  };

  if (isFinished(job.status)) {
    // no stream read at all; a resumed stream skips what came before the event it saw last
    const since = o.lastEventId === undefined ? 0 : Number(o.lastEventId.split('-')[0]);
    const transitions = recordEvents(job);
    for (const [i, e] of transitions.entries()) {
      if (i < transitions.length - 1 && Date.parse(String(e.data.ts)) <= since) continue;
      await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
    }
    return end();
  }

  let ended = false;
  // Catch up from the job's creation (or the event the client saw last), within a budget.
  const created = `${Math.max(0, job.created_at - 1)}-0`;
  let after = o.lastEventId !== undefined && compareStreamIds(o.lastEventId, created) > 0 ? o.lastEventId : created;
  /** Sends the job's entries among `entries`; moves the cursor past all of them. */
  const forward = async (entries: { id: string; fields: Record<string, string> }[]) => {
    for (const e of entries) {
      after = e.id;
      if (e.fields.job !== id) continue;
      const { job: _job, ...fields } = e.fields;
      const event = fields.output !== undefined ? 'output' : fields.progress !== undefined ? 'progress' : 'status';
      const data = { job_id: id, ...streamEventData(fields), ...(event === 'output' && outputEventData(fields)) };
      await stream.writeSSE({ id: e.id, event, data: JSON.stringify(data) });
      if (isFinished(fields.status ?? '')) ended = true;
    }
  };

  let caughtUp = false;
  for (let read = 0; read < CATCHUP_ENTRIES && !ended && !closed;) {
    const entries = await deps.redis.xrangeAfter(events, after, BATCH);
    await forward(entries);
    read += entries.length;
    if (entries.length < BATCH) {
      caughtUp = true;
      break;
    }
  }
  if (!caughtUp && !ended && !closed) {
    // the job's events lie further back: its record says where it stands, the stream's tail what comes next
    after = await eventsTail(deps.redis, deps.keys);
    const now = await store.get(id);
    if (!now) return end();
    await sendRecord(now);
    ended = isFinished(now.status);
  }

  let polls = 0;
  while (!closed && !ended) {
    await logs.next(() => closed);
    const entries = await deps.redis.xrangeAfter(events, after, BATCH);
    await forward(entries);
    if (ended || closed) break;
    if (deps.now() >= o.deadline) {
      // the lines written up to the cursor go first, so a client that resumes after it misses none
      await logs.next(() => closed);
      if (closed) return;
      await stream.writeSSE({ id: after, event: 'reconnect', data: JSON.stringify({ job_id: id, reason: RECONNECT_REASON }) });
      return;
    }
    if (entries.length === BATCH) continue;
    // The stream is capped: every ~2 s look at the job itself, in case its end was trimmed away.
    if (++polls % 20 === 0) {
      const now = await store.get(id);
      ended = !now || isFinished(now.status);
    }
    if (!ended) await stream.sleep(o.pollMs);
  }
  if (ended && !closed) await end();
}
