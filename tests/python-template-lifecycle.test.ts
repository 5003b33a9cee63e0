/**
 * Python templates through the spawner: a worker's runner forked from its type's
 * template, opt-out, the fallback when a fork is unsafe, replacement when the handlers
 * change, reaping when idle, status and metrics, memory accounting, and no orphan after
 * a SIGKILL of the worker, of the template, or of the spawner.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, waitFor } from './helpers/api';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { spawnerEnv, startSpawnerProcess } from './helpers/spawner-process';
import { startSystem, type System } from './helpers/system';
import { statusText } from '../spawner/cli/status-render';

const PY = '/usr/bin/python3';
const FAKE = join(import.meta.dirname, 'fixtures', 'fake_framework');
const hasPython = existsSync(PY);
const handlers = mkdtempSync(join(tmpdir(), 'kiln-tmpl-handlers-'));
cpSync(join(FAKE, 'handlers'), handlers, { recursive: true, filter: (src) => !src.includes('__pycache__') });

const fake = (extra: Record<string, unknown> = {}) => ({
  framework: 'fake' as const, version: '0.1.0', python: PY, python_path: [FAKE], max_jobs: 1, max_workers: 2, idle_timeout: 60, ...extra,
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};
const gone = (what: string, pids: number[], ms = 2000) => waitFor(what, async () => pids.every((p) => !alive(p)), ms);

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      fake: fake(),
      'fake-plain': fake({ template: false }),
      'fake-unsafe': fake({ env: { KILN_FAKE_FORK_SELF_TEST: 'fail' } }),
      'fake-idle': fake({ template_idle_timeout: 1, max_workers: 1 }),
      'fake-small': fake({ memory_mb: 150, max_workers: 1 }),
    },
    env: { KILN_HANDLERS_DIR: handlers, KILN_GPUS: 'none' },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
  rmSync(handlers, { recursive: true, force: true });
});

type Draw = { pid: number; ppid: number; pgid: number };
async function run(type: string, payload: Record<string, unknown> = { handler: 'random_draw' }, statuses = ['succeeded']) {
  const r = await sys.request('POST', '/jobs', { worker_type: type, payload, max_attempts: 1 });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const job = await sys.waitFor(`job ${r.body.job_id} to be ${statuses.join('|')}`, async () => {
    const j = await sys.job(r.body.job_id);
    return statuses.includes(j.status) && j;
  }, 20_000);
  return job as { status: string; worker_id: string; result: Draw; error: { type: string; message: string } };
}
const workerPid = async (id: string) => (await sys.request('GET', `/workers/${id}`)).body.process_id as number;
const spawnerGet = (path: string) => fetch(`${sys.spawner.url}${path}`, { headers: { authorization: `Bearer ${sys.spawner.token}` } });
const templates = async () => ((await (await spawnerGet('/workers/templates')).json()) as { templates: any[] }).templates;
const templateOf = async (type: string) => (await templates()).find((t) => t.worker_type === type);

describe.skipIf(!hasPython)('templates run by the spawner', () => {
  it("forks a worker's runner from its type's template, shown in status and metrics with its RSS", async () => {
    const job = await run('fake');
    const t = await templateOf('fake');
    expect(t).toMatchObject({ state: 'ready', forks: 1, runners: 1 });
    expect(job.result.ppid).toBe(t.pid);
    expect(job.result.pgid).toBe(job.result.pid);
    expect(t.rss_bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect((await sys.request('GET', `/workers/${job.worker_id}`)).body.runner_pid).toBe(job.result.pid);
    expect(statusText({ worker_details: {}, templates: await templates() }, Date.now())).toMatch(/TEMPLATE\s+STATE[\s\S]*\nfake\s+ready\s+\d+/);
    const metrics = await (await spawnerGet('/metrics')).text();
    const rss = /kiln_template_rss_bytes\{worker_type="fake"\} (\d+)/.exec(metrics)?.[1];
    expect(Number(rss)).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('spawns the runner of a type that opts out (template: false)', async () => {
    const job = await run('fake-plain');
    expect(job.result.ppid).toBe(await workerPid(job.worker_id));
    expect(await templateOf('fake-plain')).toBeUndefined();
  });

  it('falls back to a plain runner when the fork fails its self-test, and turns the template off with the reason', async () => {
    const job = await run('fake-unsafe');
    expect(job.result.ppid).toBe(await workerPid(job.worker_id));
    const t = await sys.waitFor('the template to be off', async () => {
      const x = await templateOf('fake-unsafe');
      return x?.state === 'off' && x;
    }, 5000);
    expect(t.reason).toContain('not fork-safe in this build');
    expect(sys.logs.join('\n')).toMatch(/runner was spawned, not forked/);
  });

  it("counts the forked runner's memory against its worker and kills both over memory_mb", async () => {
    const job = await run('fake-small', { handler: 'memory_hog', mb: 250, seconds: 20 }, ['failed']);
    expect(job.error.type).toBe('memory_limit');
    expect(job.error.message).toMatch(/limit 150 MiB/);
    const t = await templateOf('fake-small');
    expect(t.forks).toBe(1);
    await sys.waitFor('the killed runner to be reaped', async () => (await templateOf('fake-small')).runners === 0, 3000);
  });

  it('replaces the template when a handler file changes', async () => {
    const before = await templateOf('fake');
    for (const w of sys.spawner.supervisor.ofType('fake')) await sys.spawner.supervisor.stop(w, { graceMs: 1000 });
    const later = new Date(Date.now() + 5000);
    utimesSync(join(handlers, 'echo.py'), later, later);
    const job = await run('fake');
    const after = await templateOf('fake');
    expect(after.pid).not.toBe(before.pid);
    expect(job.result.ppid).toBe(after.pid);
    await gone('the old template to exit', [before.pid], 3000);
  });

  it('stops a template idle past template_idle_timeout; its runner keeps serving', async () => {
    const first = await run('fake-idle');
    expect(first.result.ppid).not.toBe(await workerPid(first.worker_id)); // forked from the template
    await sys.waitFor('the idle template to be stopped', async () => !(await templateOf('fake-idle')), 8000);
    await gone('the idle template process', [first.result.ppid]);
    const again = await run('fake-idle');
    expect(again.result.pid).toBe(first.result.pid);
  });

  it('leaves no runner behind when its worker is SIGKILLed, and keeps runners when the template is', async () => {
    const a = await run('fake');
    const t = await templateOf('fake');
    process.kill(await workerPid(a.worker_id), 'SIGKILL');
    await gone('the runner of the killed worker', [a.result.pid], 1500);

    const b = await run('fake');
    process.kill(t.pid, 'SIGKILL');
    await gone('the template', [t.pid]);
    const c = await run('fake', { handler: 'random_draw' });
    expect(c.result.pid).toBe(b.result.pid); // the runner goes on serving its worker
    process.kill(await workerPid(c.worker_id), 'SIGKILL');
    await gone('the orphaned runner of the killed worker', [c.result.pid], 1500);
  });
});

describe.skipIf(!hasPython)('the spawner is SIGKILLed', () => {
  it('takes its templates, workers and forked runners along', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kiln-tmpl-kill-'));
    const env = await spawnerEnv({
      redisUrl: redis.url, prefix: 'tmplkill', stateDir, types: { fake: fake() }, extra: { KILN_HANDLERS_DIR: handlers },
    });
    const spawner = await startSpawnerProcess(env);
    try {
      const api = createTestApi({ redis: redis.client(), prefix: 'tmplkill', spawnerUrl: spawner.url, token: spawner.token });
      const id = (await api.request('POST', '/jobs', { worker_type: 'fake', payload: { handler: 'random_draw' } })).body.job_id as string;
      const job = await waitFor('the job to succeed', async () => {
        const j = await api.job(id);
        return j.status === 'succeeded' && j;
      }, 20_000, () => spawner.log);
      const worker = (await api.request('GET', `/workers/${job.worker_id}`)).body.process_id as number;
      await spawner.kill('SIGKILL');
      await gone('the template, the worker and its runner', [job.result.ppid, worker, job.result.pid], 2500);
    } finally {
      await spawner.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
