/**
 * Operators see where time goes and why work waits: job timings (a cold start's
 * phases, measured), the spawner's Prometheus metrics, and per-type status with
 * waiting reasons. Real Redis, real worker processes, real Python with sklearn.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const HANDLERS = join(import.meta.dirname, 'fixtures', 'fake_framework', 'handlers');
const hasSklearn = (() => {
  try {
    execFileSync(PY, ['-c', 'import sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasSklearn) console.log(`skipping the scikit-learn cold-start test: ${PY} cannot import sklearn (apt-get install python3-sklearn)`);

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1 },
      // one worker with one slot: a second job waits behind the first
      one: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 1, max_workers: 1 },
      sklearn: { framework: 'sklearn', version: '1.2', python: PY, idle_timeout: 60, max_jobs: 1, max_workers: 1 },
      broken: { framework: 'sklearn', version: '1.2', python: '/nonexistent/python3', max_jobs: 1, max_workers: 1 },
    },
    env: { KILN_HANDLERS_DIR: HANDLERS },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

const submit = async (body: Record<string, unknown>) => {
  const r = await sys.request('POST', '/jobs', body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const until = (id: string, statuses: string[], ms = 30_000) =>
  sys.waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
    const j = await sys.job(id);
    return statuses.includes(j.status) && j;
  }, ms);
const status = async () => (await sys.request('GET', '/workers/status')).body;

const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${sys.spawner.token}` }, url = sys.spawner.url) => {
  const r = await fetch(`${url}/metrics`, { headers });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
};

/** The value of one series in Prometheus text (labels compared as a set); undefined when absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('job timings', () => {
  it('a cold node job shows where its worker start went; a warm one has no cold_start', async () => {
    expect(sys.spawner.supervisor.ofType('node')).toHaveLength(0);
    const cold = await until(await submit({ function: 'echo', input: { n: 1 } }), ['succeeded']);
    const t = cold.timings;
    expect(t.cold_start, JSON.stringify(t)).not.toBeNull();
    const c = t.cold_start;
    expect(c.spawn_ms).toBeGreaterThanOrEqual(0);
    expect(c.runtime_ready_ms).toBeGreaterThanOrEqual(0);
    expect(c.framework_import_ms).toBeNull();
    expect(c.total_ms).toBeGreaterThanOrEqual(c.spawn_ms);
    expect(c.total_ms).toBeGreaterThanOrEqual(c.spawn_ms + c.runtime_ready_ms - 1);
    // submitted before the worker was spawned: its queue wait covers the whole start
    expect(t.queue_wait_ms).toBeGreaterThanOrEqual(c.total_ms - 1);
    expect(t.run_ms).toBeGreaterThanOrEqual(0);
    expect(t.queue_wait_ms + t.run_ms).toBeLessThanOrEqual(new Date(cold.finished_at).getTime() - new Date(cold.created_at).getTime());

    // the worker's own record carries its boot timings
    // the spawner records them when the worker's ready message arrives, which a fast first job can beat
    const worker = await sys.waitFor('the worker record with its boot timings', async () => {
      const w = (await sys.request('GET', `/workers/${cold.worker_id}`)).body;
      return w.boot_timings && w;
    });
    expect(worker.boot_timings).toMatchObject({ spawn_ms: c.spawn_ms, runtime_ready_ms: c.runtime_ready_ms, framework_import_ms: null });
    expect(worker.boot_timings.ready_ms).toBeGreaterThanOrEqual(c.spawn_ms);
    expect(worker.boot_timings.process_ms).toBeLessThanOrEqual(c.spawn_ms);

    const warm = await until(await submit({ function: 'echo', input: { n: 2 } }), ['succeeded']);
    expect(warm.worker_id).toBe(cold.worker_id);
    expect(warm.timings.cold_start).toBeNull();
    expect(warm.timings.queue_wait_ms).toBeGreaterThanOrEqual(0);
    expect(warm.timings.run_ms).toBeGreaterThanOrEqual(0);
  });

  it.skipIf(!hasSklearn)('a cold sklearn job measures its framework import', async () => {
    const job = await until(await submit({ worker_type: 'sklearn', payload: { handler: 'echo' } }), ['succeeded', 'failed']);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const c = job.timings.cold_start;
    expect(c, JSON.stringify(job.timings)).not.toBeNull();
    expect(c.framework_import_ms).toBeGreaterThan(0);
    expect(c.spawn_ms).toBeGreaterThanOrEqual(0);
    expect(c.runtime_ready_ms).toBeGreaterThanOrEqual(0);
    expect(c.total_ms).toBeGreaterThanOrEqual(c.spawn_ms + c.runtime_ready_ms + c.framework_import_ms - 1);
  });
});

describe('status that explains itself, and the metrics behind it', () => {
  it('a max_workers: 1 type busy with one job says why the next one waits', async () => {
    const first = await submit({ worker_type: 'one', payload: { function: 'sleep', input: { ms: 30_000 } }, max_attempts: 1 });
    const running = await until(first, ['running']);
    const second = await submit({ worker_type: 'one', payload: { function: 'echo', input: {} } });
    const reason = 'at max_workers (1 of 1 workers busy)';
    const s = await sys.waitFor('the type to say why work waits', async () => {
      const st = await status();
      return st.types?.one?.waiting_reason === reason && st;
    });
    expect(s.types.one).toMatchObject({
      queued: 1, delayed: 0, running: 1, workers: { busy: 1 }, warning: null,
      capacity: { max_workers: 1, max_jobs: 1, slots: 1, hosts: 1 },
    });
    const waiting = await sys.job(second);
    expect(waiting.status).toBe('queued');
    expect(waiting.waiting_reason).toBe(reason);
    expect(waiting.timings).toEqual({ queue_wait_ms: null, run_ms: null, cold_start: null });
    // the spawner answers the same shape
    const fromSpawner = (await (await fetch(`${sys.spawner.url}/workers/status`, { headers: { authorization: `Bearer ${sys.spawner.token}` } })).json()) as { types: Record<string, unknown> };
    expect(fromSpawner.types.one).toMatchObject({ queued: 1, running: 1, waiting_reason: reason });

    // the queue depth a KEDA-style autoscaler reads is the queued count
    const m = await scrape();
    expect(metric(m.text, 'kiln_queue_depth', { worker_type: 'one' })).toBe(s.types.one.queued);
    expect(metric(m.text, 'kiln_workers', { worker_type: 'one', state: 'busy' })).toBe(1);

    // the worker dies: its job is lost (counted by the spawner); the waiting one runs, the reason clears
    process.kill(s.worker_details[running.worker_id].process_id, 'SIGKILL');
    expect((await until(first, ['failed'])).error.type).toBe('worker_exit');
    await until(second, ['succeeded']);
    await sys.waitFor('the waiting reason to clear', async () => (await status()).types.one.waiting_reason === null);
    expect((await sys.job(second)).waiting_reason).toBeNull();
    await sys.waitFor('the lost job in kiln_jobs_total', async () => metric((await scrape()).text, 'kiln_jobs_total', { worker_type: 'one', outcome: 'lost' }) === 1);
  });

  it('counts outcomes, durations, queue waits, worker starts and spawn failures', async () => {
    const before = (await scrape()).text;
    const count = (text: string, outcome: string) => metric(text, 'kiln_jobs_total', { worker_type: 'node', outcome }) ?? 0;
    const ids = await Promise.all([1, 2, 3].map((n) => submit({ function: 'echo', input: { n } })));
    const failed = await submit({ function: 'fail', input: { retryable: false } });
    await Promise.all(ids.map((id) => until(id, ['succeeded'])));
    await until(failed, ['failed']);
    // workers report once per heartbeat
    const after = await sys.waitFor('the outcomes in kiln_jobs_total', async () => {
      const m = (await scrape()).text;
      return count(m, 'succeeded') - count(before, 'succeeded') === 3 && count(m, 'failed') - count(before, 'failed') === 1 && m;
    });
    const durations = metric(after, 'kiln_job_duration_seconds_count', { worker_type: 'node' }) ?? 0;
    expect(durations - (metric(before, 'kiln_job_duration_seconds_count', { worker_type: 'node' }) ?? 0)).toBe(4);
    expect(metric(after, 'kiln_job_duration_seconds_bucket', { worker_type: 'node', le: '+Inf' })).toBe(durations);
    expect(metric(after, 'kiln_queue_wait_seconds_count', { worker_type: 'node' })).toBeGreaterThanOrEqual(4);
    expect(metric(after, 'kiln_cold_start_seconds_count', { worker_type: 'node' })).toBeGreaterThanOrEqual(1);
    expect(metric(after, 'kiln_cold_start_seconds_sum', { worker_type: 'node' })).toBeGreaterThan(0);
    expect(metric(after, 'kiln_job_log_lines_dropped_total', { worker_type: 'node' })).toBe(0);
    expect(metric(after, 'kiln_worker_rss_bytes', { worker_type: 'node' })).toBeGreaterThan(10 * 1024 * 1024);
    expect(metric(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // a type whose interpreter does not exist: spawn failures, and the errored type says so
    const stuck = await submit({ worker_type: 'broken', payload: {} });
    await sys.waitFor('a spawn failure', async () => {
      const m = (await scrape()).text;
      return [...m.matchAll(/^kiln_spawn_failures_total\{worker_type="broken",reason="(\w+)"\} (\d+)/gm)].some((x) => Number(x[2]) >= 1);
    });
    const reason = await sys.waitFor('the errored type', async () => (await status()).types.broken.waiting_reason);
    // the reason says the interpreter could not be started, without its path (it stays on the host)
    expect(reason).toMatch(/^type errored: .*spawn \[redacted\] ENOENT/);
    expect((await sys.job(stuck)).waiting_reason).toMatch(/^type errored: /);
    await sys.request('POST', `/jobs/${stuck}/cancel`);
  });

  it('GET /metrics needs the token unless KILN_METRICS_OPEN=true', async () => {
    expect((await scrape({})).status).toBe(401);
    expect((await scrape({ authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
    for (const name of ['kiln_queue_depth', 'kiln_jobs_total', 'kiln_workers', 'kiln_cold_start_seconds', 'kiln_job_duration_seconds', 'kiln_queue_wait_seconds', 'kiln_worker_rss_bytes', 'kiln_spawn_failures_total', 'kiln_job_log_lines_dropped_total']) {
      expect(ok.text).toContain(`# TYPE ${name} `);
    }
    const open = await startSystem(redis, { env: { KILN_METRICS_OPEN: 'true' } });
    try {
      const r = await scrape({}, open.spawner.url);
      expect(r.status).toBe(200);
      expect(r.text).toContain('# TYPE kiln_queue_depth gauge');
    } finally {
      await open.stop();
    }
  });
});
