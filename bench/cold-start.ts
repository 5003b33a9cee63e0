/**
 * Cold start: submit a job while no worker of its type exists, until the job is
 * running (its started_at, stamped by the worker when it claims it). 20 runs per
 * type; prints median and p90, and the median of each phase as the job's
 * `timings.cold_start` reports it. Types: node (default), or pass names:
 *   npm run bench:cold -- node sklearn
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis } from '../tests/helpers/redis-server';
import { startSystem } from '../tests/helpers/system';
import { coldStart } from './cold-runs';
import { fmt, percentile } from './stats';

const RUNS = Number(process.env.RUNS ?? 20);
const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const types = requested.length > 0 ? requested : ['node'];

const redis = await startRedis();
const sys = await startSystem(redis, {
  types: {
    node: { framework: 'node', version: '20', idle_timeout: 600, max_jobs: 4, max_workers: 1 },
    sklearn: { framework: 'sklearn', version: '1.2', python: process.env.SKLEARN_PYTHON ?? '/usr/bin/python3', idle_timeout: 600, max_jobs: 1, max_workers: 1 },
  },
  env: { KILN_HANDLERS_DIR: join(import.meta.dirname, '..', 'tests', 'fixtures', 'fake_framework', 'handlers') },
  // a bench measures the ensure fast path; keep the loop from racing it
  spawner: { reconcileMs: 60_000 },
});

// Python types run the fixture `echo` handler: the runner has imported its framework by then.
const body = (type: string) => (type === 'node' ? { function: 'echo', input: {} } : { worker_type: type, payload: { handler: 'echo' } });

try {
  for (const type of types) {
    const samples: number[] = [];
    const phases: Record<string, number[]> = { queue_wait_ms: [], spawn_ms: [], runtime_ready_ms: [], framework_import_ms: [], total_ms: [], run_ms: [] };
    for (let i = 0; i < RUNS; i++) {
      const c = await coldStart(sys, body(type));
      samples.push(c.ms);
      for (const [k, v] of Object.entries(c.phases)) phases[k]?.push(v);
    }
    const w = [...sys.spawner.supervisor.workers.values()].find((x) => x.type === type);
    const runnerPid = w ? Number((await sys.redis.hget(`{${sys.prefix}}:worker:${w.id}`, 'runner_pid')) ?? 0) : 0;
    if (runnerPid > 0) {
      await new Promise((r) => setTimeout(r, 500));
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${runnerPid}/status`, 'utf8'))?.[1] ?? 0);
      console.log(`idle RSS of the ${type} runner (pid ${runnerPid}): ${(kb / 1024).toFixed(1)} MiB; whole worker tree: ${(w!.proc.sampleRss() / 1048576).toFixed(1)} MiB`);
    }
    console.log(`cold start ${type}: median ${fmt(percentile(samples, 50))}, p90 ${fmt(percentile(samples, 90))}, min ${fmt(Math.min(...samples))} (n=${RUNS}; submit → running, no worker before)`);
    const cells = Object.entries(phases).map(([k, v]) => `${k} ${v.length ? `${percentile(v, 50)} (p90 ${percentile(v, 90)})` : 'null'}`);
    console.log(`  timings.cold_start of ${type} (median ms): ${cells.join(', ')}`);
  }
} finally {
  await sys.stop();
  await redis.stop();
}
