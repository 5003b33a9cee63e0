/** `jobs get`, `jobs list`, `jobs cancel`: one API call each, a table or JSON. */
import { print, type CliContext } from './context';
import { usageError } from './exit-codes';
import { clip, duration, percent, table } from './format';
import { callJson } from './http';
import { asRecord, formatMetrics, type JobInfo, readJob, runMs } from './job-view';
import { intOption } from './options';

export function jobIdArg(ctx: CliContext, command: string): string {
  const id = ctx.args[0];
  if (!id) throw usageError(`${ctx.program} jobs ${command} needs a job id (see "${ctx.program} jobs list")`);
  return id;
}

export const jobPath = (id: string, tail = ''): string => `/jobs/${encodeURIComponent(id)}${tail}`;

function timingsLines(t: Record<string, unknown> | null): string[] {
  if (!t) return [];
  const out: string[] = [];
  const ms = (v: unknown) => (typeof v === 'number' ? duration(v) : '-');
  out.push(`timings   queue wait ${ms(t.queue_wait_ms)} · run ${ms(t.run_ms)}`);
  const cold = asRecord(t.cold_start);
  if (Object.keys(cold).length > 0) {
    out.push(`cold start spawn ${ms(cold.spawn_ms)} · runtime ready ${ms(cold.runtime_ready_ms)} · framework import ${ms(cold.framework_import_ms)} · total ${ms(cold.total_ms)}`);
  }
  return out;
}

export function describeJob(job: JobInfo, now: number): string {
  const lines = [
    `job       ${job.id}`,
    `status    ${job.status}`,
    `type      ${job.type} (${job.kind})`,
    `attempts  ${job.attempts}/${job.maxAttempts}`,
    `progress  ${percent(job.progress)}${job.message ? `  ${job.message}` : ''}`,
  ];
  if (job.metrics) lines.push(`metrics   ${formatMetrics(job.metrics)}`);
  if (job.workerId) lines.push(`worker    ${job.workerId}`);
  if (job.createdMs !== undefined) lines.push(`created   ${new Date(job.createdMs).toISOString()} (${duration(now - job.createdMs)} ago)`);
  if (job.startedMs !== undefined) lines.push(`started   ${new Date(job.startedMs).toISOString()}`);
  if (job.finishedMs !== undefined) lines.push(`finished  ${new Date(job.finishedMs).toISOString()}`);
  const ran = runMs(job, now);
  if (ran !== undefined) lines.push(`duration  ${duration(ran)}${job.finishedMs === undefined ? ' (running)' : ''}`);
  lines.push(...timingsLines(job.timings));
  if (job.waitingReason) lines.push(`waiting   ${job.waitingReason}`);
  if (job.error) lines.push(`error     ${job.error.type}: ${job.error.message}`);
  if (job.result !== null) lines.push(`result    ${JSON.stringify(job.result)}`);
  return lines.join('\n');
}

export async function jobsGet(ctx: CliContext): Promise<number> {
  const { body } = await callJson(ctx.io.http, ctx.api(), 'GET', jobPath(jobIdArg(ctx, 'get')));
  print(ctx, body, () => describeJob(readJob(body), ctx.io.now()));
  return 0;
}

export function jobsTable(jobs: JobInfo[], now: number): string {
  return table(jobs, [
    { header: 'JOB_ID', value: (j) => j.id },
    { header: 'TYPE', value: (j) => j.type },
    { header: 'STATUS', value: (j) => j.status },
    { header: 'ATTEMPTS', value: (j) => `${j.attempts}/${j.maxAttempts}`, right: true },
    { header: 'PROGRESS', value: (j) => percent(j.progress), right: true },
    { header: 'AGE', value: (j) => (j.createdMs === undefined ? '-' : duration(now - j.createdMs)), right: true },
    { header: 'DURATION', value: (j) => duration(runMs(j, now)), right: true },
    { header: 'MESSAGE', value: (j) => clip(j.error ? `${j.error.type}: ${j.error.message}` : j.message ?? '', 60) },
  ]);
}

export async function jobsList(ctx: CliContext): Promise<number> {
  const q = new URLSearchParams();
  const limit = intOption(ctx.opts, 'limit', { min: 1, max: 500 });
  if (limit !== undefined) q.set('limit', String(limit));
  if (ctx.opts.status) q.set('status', ctx.opts.status);
  if (ctx.opts.type) q.set('worker_type', ctx.opts.type);
  if (ctx.opts.cursor) q.set('cursor', ctx.opts.cursor);
  const qs = q.toString();
  const { body } = await callJson(ctx.io.http, ctx.api(), 'GET', `/jobs${qs ? `?${qs}` : ''}`);
  const page = asRecord(body);
  const jobs = (Array.isArray(page.jobs) ? page.jobs : []).map(readJob);
  print(ctx, body, () => (jobs.length === 0 ? 'no jobs' : jobsTable(jobs, ctx.io.now())));
  if (!ctx.json && typeof page.next_cursor === 'string' && jobs.length > 0) {
    ctx.io.err(`more: ${ctx.program} jobs list --cursor ${page.next_cursor}${limit ? ` --limit ${limit}` : ''}\n`);
  }
  return 0;
}

export async function jobsCancel(ctx: CliContext): Promise<number> {
  const id = jobIdArg(ctx, 'cancel');
  const { body } = await callJson(ctx.io.http, ctx.api(), 'POST', jobPath(id, '/cancel'));
  const r = asRecord(body);
  print(ctx, body, () => (r.status === 'cancelled'
    ? `cancelled ${id}`
    : `cancelling ${id}: the worker was asked to stop it (follow with "${ctx.program} jobs watch ${id}")`));
  return 0;
}
