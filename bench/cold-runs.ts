/**
 * Cold starts and their floors. A cold start: submit a job while no worker of its
 * type exists, until the job is running (its started_at, stamped by the worker when
 * it claims it). Floors: a forked Node child that loads ioredis and PINGs
 * (bench/node-floor-child.mjs); `python3 -c "import <framework>"`.
 */
import { fork, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { System } from '../tests/helpers/system';
import { firstMessage, stopProcess } from './processes';

const NODE_FLOOR = join(import.meta.dirname, 'node-floor-child.mjs');

export interface ColdSample {
  /** submit → running, ms */
  ms: number;
  /** the job's timings (queue_wait_ms, run_ms and cold_start phases) */
  phases: Record<string, number>;
}

/** One cold start of `type`: stops every worker, submits `body` through the in-process API, waits for the job to run and end. */
export async function coldStart(sys: System, body: unknown): Promise<ColdSample> {
  // worker by worker: stopAll would also close the spawner to new workers
  const sup = sys.spawner.supervisor;
  await Promise.all([...sup.workers.values()].map((w) => sup.stop(w, { graceMs: 0, reason: { kind: 'stopped', by: 'bench' } })));
  const t0 = Date.now();
  const r = await sys.request('POST', '/jobs', body);
  if (r.status !== 202) throw new Error(`submit failed: ${JSON.stringify(r.body)}`);
  const job = await sys.waitFor('job start', async () => {
    const j = await sys.job(r.body.job_id);
    return j.started_at && j;
  }, 60_000);
  const ms = new Date(job.started_at).getTime() - t0;
  const done = await sys.waitFor('job end', async () => {
    const j = await sys.job(r.body.job_id);
    return ['succeeded', 'failed'].includes(j.status) && j;
  }, 60_000);
  const t = done.timings as { queue_wait_ms: number; run_ms: number; cold_start: Record<string, number | null> | null };
  if (!t.cold_start) throw new Error(`job ${r.body.job_id} has no cold_start timings: ${JSON.stringify(t)}`);
  const phases: Record<string, number> = {};
  for (const [k, v] of Object.entries({ ...t.cold_start, queue_wait_ms: t.queue_wait_ms, run_ms: t.run_ms })) if (typeof v === 'number') phases[k] = v;
  return { ms, phases };
}

/** fork → the child has loaded ioredis and had its PING answered, ms. */
export async function nodeFloor(redisPort: number): Promise<number> {
  const t0 = performance.now();
  const child = fork(NODE_FLOOR, [String(redisPort)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await firstMessage(child, 'node floor child', 15_000);
    return performance.now() - t0;
  } finally {
    await stopProcess(child);
  }
}

/** spawn → `python -c "import <module>"` exited 0, ms; null when the import fails (not installed). */
export async function pythonImportFloor(python: string, module: string, timeoutMs = 60_000): Promise<number | null> {
  const t0 = performance.now();
  const child = spawn(python, ['-c', `import ${module}`], { stdio: 'ignore' });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.once('error', () => resolve(null));
  });
  clearTimeout(killer);
  return code === 0 ? performance.now() - t0 : null;
}
