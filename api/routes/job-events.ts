/**
 * GET /jobs/:id/events — the job's transitions as Server-Sent Events, from its
 * creation on, ending when the job ends, with its log lines as `log` events. Reads
 * the capped events stream and the job's log at an interval (no blocking command,
 * so it runs in workerd too).
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { notFound } from '../../core/errors';
import type { JobStore } from '../../core/job-store';
import { FINISHED_STATUSES, jobView } from '../../core/schemas/job';
import { progressEventData } from '../../core/schemas/progress';
import type { JobStatus } from '../../core/keys';
import type { AppDeps } from '../deps';
import { logTail } from './job-logs';

export async function jobEvents(c: Context, deps: AppDeps, store: JobStore): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const job = await store.get(id);
  if (!job) throw notFound('JOB_NOT_FOUND', `no job ${id}: it never existed or expired after its retention time`);
  const pollMs = Math.max(100, deps.config.ssePollMs);
  return streamSSE(c, async (stream) => {
    let closed = false;
    stream.onAbort(() => {
      closed = true;
    });
    let after = `${Math.max(0, job.created_at - 1)}-0`;
    let polls = 0;
    let ended = false;
    const logs = logTail(deps, id, (line) => stream.writeSSE({ event: 'log', data: JSON.stringify({ job_id: id, ...line }) }));
    while (!closed && !ended) {
      await logs.next(() => closed);
      const entries = await deps.redis.xrangeAfter(deps.keys.events(), after, 500);
      for (const e of entries) {
        after = e.id;
        if (e.fields.job !== id) continue;
        const { job: _job, ...fields } = e.fields;
        await stream.writeSSE({ id: e.id, event: fields.progress !== undefined ? 'progress' : 'status', data: JSON.stringify({ job_id: id, ...progressEventData(fields) }) });
        if (FINISHED_STATUSES.includes(fields.status as JobStatus)) ended = true;
      }
      if (entries.length === 500) continue;
      // The stream is capped: every ~2 s look at the job itself, in case its end was trimmed away.
      if (!ended && ++polls % 20 === 0) {
        const now = await store.get(id);
        ended = !now || FINISHED_STATUSES.includes(now.status);
      }
      if (!ended) await stream.sleep(pollMs);
    }
    if (ended && !closed) {
      await logs.next(() => closed); // the lines written before the job ended
      if (closed) return;
      const last = await store.get(id);
      await stream.writeSSE({ event: 'end', data: JSON.stringify(last ? jobView(last) : { job_id: id, status: 'gone' }) });
    }
  });
}
