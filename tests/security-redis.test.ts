/**
 * Redis trouble (#9 item 7). With Redis out of memory, stalled (SIGSTOP) or down,
 * every route of the API (the Node server, and the workerd build's code over the
 * REST gateway) and of the spawner answers within 2 s: 503 REDIS_UNAVAILABLE where
 * it needs Redis, /health included, with a message that says what happened and no
 * raw Redis text. Once Redis is back, submits work again with nothing restarted.
 * The spawner stops within its drain grace whether or not Redis answers, and a
 * second Ctrl-C stops it at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { DASHBOARD_ASSETS } from '../api/dashboard/assets';
import { DEFAULT_API_CONFIG } from '../api/deps';
import { startApiServer } from '../api/node';
import { createSpawnerClient } from '../api/spawner-client';
import { createKeys } from '../core/keys';
import { createLogger } from '../core/logger';
import { probeWrite } from '../core/lua/scripts';
import { redisTrouble } from '../core/redis-errors';
import { createUpstashClient, createUpstashPort } from '../core/upstash-port';
import { workerTypeConfigSchema } from '../core/schemas/worker-type';
import { loadSpawnerConfig } from '../spawner/config';
import { startSpawner, type SpawnerHandle } from '../spawner/daemon';
import { createTestApi, waitFor } from './helpers/api';
import { freePort, type RedisServer, startRedis } from './helpers/redis-server';
import { type SpawnerProcess, spawnerEnv, startSpawnerProcess } from './helpers/spawner-process';

/** KILN_REDIS_TIMEOUT_MS of every process here. */
const T = 500;
/** The promise of the issue: an answer within this long, whatever Redis does. */
const ANSWER_WITHIN_MS = 2000;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-redis-trouble-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

describe('Redis errors are recognised in one place', () => {
  it('tells out-of-memory, timeouts, unreachable and refusing Redis from other errors', () => {
    const oom = new Error("OOM command not allowed when used memory > 'maxmemory'.");
    expect(redisTrouble(oom)).toBe('out_of_memory');
    expect(redisTrouble(new Error("OOM command not allowed when used memory > 'maxmemory'. script: 607c…, on @user_script:1."))).toBe('out_of_memory');
    // @upstash/redis wraps the reply; ioredis' EXECABORT carries it in previousErrors
    expect(redisTrouble(new Error("OOM command not allowed when used memory > 'maxmemory'., command was: [\"evalsha\"]"))).toBe('out_of_memory');
    expect(redisTrouble(Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [oom] }))).toBe('out_of_memory');
    expect(redisTrouble(new Error('Command timed out'))).toBe('timeout');
    expect(redisTrouble(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }))).toBe('timeout');
    expect(redisTrouble(new Error('connect ECONNREFUSED 127.0.0.1:6379'))).toBe('unreachable');
    expect(redisTrouble(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('unreachable');
    expect(redisTrouble(new Error('LOADING Redis is loading the dataset in memory'))).toBe('refused');
    expect(redisTrouble(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBeUndefined();
    expect(redisTrouble(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeUndefined();
  });
});

type Mode = 'out of memory' | 'stalled' | 'down';

/** What each mode's answers say: the 503 message, and /health's redis field. */
const EXPECT: Record<Mode, { message: RegExp; health: RegExp }> = {
  'out of memory': { message: /out of memory \(maxmemory reached\)/, health: /^error: out of memory/ },
  stalled: { message: /did not answer in time/, health: new RegExp(`^error: no answer within ${T} ms`) },
  // through the REST gateway a lost Redis can also look like one that does not answer (the gateway waits for its reconnect)
  down: { message: /cannot be reached|did not answer in time/, health: /^error: (cannot connect|no answer within)/ },
};

interface Answer {
  route: string;
  status: number;
  ms: number;
  body: any;
}

/** `METHOD /path/:param` of every route an app serves (middleware left out). */
function routesOf(app: Hono): { method: string; path: string }[] {
  const seen = new Set<string>();
  return app.routes
    .filter((r) => r.method !== 'ALL')
    .filter((r) => {
      const key = `${r.method} ${r.path}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .map((r) => ({ method: r.method, path: r.path }));
}

describe('every route answers within 2 s while Redis is in trouble', () => {
  let redis: RedisServer;
  let spawner: SpawnerHandle;
  let api: ReturnType<typeof startApiServer>;
  let edge: ReturnType<typeof createApp>;
  let prefix: string;
  let jobId: string;
  let workerId: string;
  const logs: string[] = [];

  beforeAll(async () => {
    redis = await startRedis({ appendonly: true });
    cleanups.push(() => redis.stop());
    prefix = `trouble${process.pid}`;
    const env = {
      REDIS_URL: redis.url, KILN_PREFIX: prefix, KILN_STATE_DIR: tempDir(), SPAWNER_PORT: '0', KILN_GPUS: 'none',
      KILN_REDIS_TIMEOUT_MS: String(T), KILN_REDIS_GATEWAY: 'on',
    };
    const base = loadSpawnerConfig(env);
    spawner = await startSpawner({
      ...base, hostId: `trouble-${process.pid}`, reconcileMs: 100, heartbeatMs: 500, killGraceMs: 1000, drainGraceMs: 3000,
      types: { node: workerTypeConfigSchema.parse({ framework: 'node', version: '20', max_jobs: 4, max_workers: 1, min_workers: 1, idle_timeout: 60 }) },
    }, (level, m) => logs.push(`spawner ${level} ${m}`));
    cleanups.push(() => spawner.stop(2000));
    const logger = createLogger({ component: 'api', now: Date.now, write: (line) => logs.push(line) });
    api = startApiServer({ ...env, API_PORT: String(await freePort()), WORKER_MANAGER_URL: spawner.url, SPAWNER_TOKEN: spawner.token }, logger);
    cleanups.push(() => api.close());
    await api.listening;
    // The workerd entry's code, in Node: the API over @upstash/redis through the spawner's REST gateway.
    edge = createApp({
      logger,
      redis: createUpstashPort(createUpstashClient({ url: `${spawner.url}/redis`, token: spawner.gatewayToken!, timeoutMs: T })),
      keys: createKeys(prefix),
      spawner: createSpawnerClient({ url: spawner.url, token: spawner.token }),
      config: { ...DEFAULT_API_CONFIG, redisTimeoutMs: T },
      now: Date.now,
      newId: () => crypto.randomUUID(),
    });
    await waitFor('the API to reach Redis', async () => (await nodeRequest('GET', '/health')).status === 200);
    // A job and a worker to name in the routes' paths.
    jobId = await submitAndFinish('node');
    workerId = await waitFor('the worker to be ready', async () => {
      const s = await spawnerRequest('GET', '/workers/status');
      return Object.keys(s.body.worker_details ?? {})[0];
    });
  });

  const nodeRequest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, {
      method, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000),
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await parse(res) };
  };
  const edgeRequest = async (method: string, path: string, body?: unknown) => {
    const res = await edge.request(path, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return { status: res.status, body: await parse(res) };
  };
  const spawnerRequest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${spawner.url}${path}`, {
      method, headers: { authorization: `Bearer ${path.startsWith('/redis') ? spawner.gatewayToken! : spawner.token}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000),
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await parse(res) };
  };
  async function parse(res: Response): Promise<any> {
    const text = await res.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  async function submitAndFinish(via: 'node' | 'edge'): Promise<string> {
    const r = await (via === 'node' ? nodeRequest : edgeRequest)('POST', '/jobs', { function: 'echo', input: { via } });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const id = r.body.job_id as string;
    await waitFor(`job ${id} (submitted via ${via}) to succeed`, async () => (await nodeRequest('GET', `/jobs/${id}`)).body.status === 'succeeded', 20_000, () => logs);
    return id;
  }

  /** A concrete path for a route: its parameters filled with things that exist. */
  function concrete(path: string): string {
    return path
      .replace(/^\/jobs\/:id/, `/jobs/${jobId}`)
      .replace(/:id/, workerId)
      .replace(/:type/, 'node')
      .replace(/:file/, Object.keys(DASHBOARD_ASSETS)[0] ?? 'app.js');
  }

  async function timed(route: string, call: () => Promise<{ status: number; body: any }>): Promise<Answer> {
    const t0 = performance.now();
    const r = await call();
    return { route, ...r, ms: Math.round(performance.now() - t0) };
  }

  /** Every API route through one runtime, all at once. */
  function apiAnswers(app: Hono, request: typeof nodeRequest, name: string): Promise<Answer>[] {
    return routesOf(app).map(({ method, path }) =>
      timed(`${name} ${method} ${path}`, () => request(method, concrete(path), method === 'GET' ? undefined : { function: 'echo', input: {} })));
  }

  /** Every spawner route, all at once; the gateway gets one of Kiln's own writes. */
  function spawnerAnswers(): Promise<Answer>[] {
    const write = ['eval', probeWrite.source, '1', createKeys(prefix).healthProbe(), String(Date.now()), '10000'];
    return routesOf(spawner.app).map(({ method, path }) => {
      const body = path === '/redis' || path === '/redis/' ? write : path.startsWith('/redis/') ? [write] : undefined;
      return timed(`spawner ${method} ${path}`, () => spawnerRequest(method, concrete(path), body));
    });
  }

  /** Pages and documents that never read Redis: served as usual. */
  const API_WITHOUT_REDIS = ['GET /', 'GET /ui/:file', 'GET /docs', 'GET /openapi.json'];

  function expectTroubleAnswers(mode: Mode, answers: Answer[]): void {
    const { message, health } = EXPECT[mode];
    for (const a of answers) {
      const what = `${a.route} (${mode}): ${a.status} in ${a.ms} ms ${JSON.stringify(a.body).slice(0, 300)}`;
      expect(a.ms, what).toBeLessThan(ANSWER_WITHIN_MS);
      const route = a.route.slice(a.route.indexOf(' ') + 1);
      // the spawner's types list is its own configuration (the API's comes from Redis)
      if (API_WITHOUT_REDIS.includes(route) || a.route === 'spawner GET /workers/types' || a.route === 'spawner GET /workers/templates') {
        expect(a.status, what).toBe(200);
      } else if (route === 'GET /health') {
        expect(a.status, what).toBe(503);
        expect(a.body.redis, what).toMatch(health);
      } else if (route === 'GET /metrics') {
        // the host's own metrics stay readable (a scraper must not see the spawner as down); Redis' state is one of them
        expect(a.status, what).toBe(200);
        expect(a.body, what).toMatch(/^kiln_redis_up 0$/m);
      } else if (route.startsWith('POST /redis')) {
        // the gateway speaks the Upstash protocol: a pipeline answers 200 with an error per entry; a stalled or lost
        // Redis is otherwise its 503, and an OOM reply is passed on as Redis gave it (the API maps it to 503)
        if (Array.isArray(a.body)) {
          expect(a.status, what).toBe(200);
          for (const entry of a.body) expect(entry, what).toHaveProperty('error');
        } else {
          // a Redis that does not answer in time is the gateway's 504 (REDIS_TIMEOUT), one it cannot reach its 503
          if (mode === 'out of memory') expect(a.status, what).toBe(400);
          else expect([503, 504], what).toContain(a.status);
          expect(a.body, what).toHaveProperty('error');
        }
        if (mode === 'out of memory') expect(JSON.stringify(a.body), what).toMatch(/OOM command not allowed/);
      } else {
        expect(a.status, what).toBe(503);
        expect(a.body.error.code, what).toBe('REDIS_UNAVAILABLE');
        expect(a.body.error.message, what).toMatch(message);
        expect(a.body.error.message, what).not.toMatch(/ECONN|127\.0\.0\.1|Command timed out|OOM command|Stream isn't/);
      }
    }
  }

  async function everyRoute(mode: Mode): Promise<void> {
    // /health probes Redis at once (the routes' gate would see the trouble within a second anyway)
    for (const request of [nodeRequest, edgeRequest, spawnerRequest]) {
      const h = await request('GET', '/health');
      expect(h.status, JSON.stringify(h.body)).toBe(503);
      expect(h.body.redis, JSON.stringify(h.body)).toMatch(EXPECT[mode].health);
    }
    // each process's routes at once (both runtimes serve the routes of the one createApp)
    const answers: Answer[] = [];
    answers.push(...await Promise.all(apiAnswers(edge, nodeRequest, 'api(node)')));
    answers.push(...await Promise.all(apiAnswers(edge, edgeRequest, 'api(workerd-code)')));
    answers.push(...await Promise.all(spawnerAnswers()));
    expect(answers.length).toBeGreaterThan(25);
    expectTroubleAnswers(mode, answers);
  }

  async function backToNormal(): Promise<void> {
    for (const [name, request] of [['api', nodeRequest], ['edge', edgeRequest], ['spawner', spawnerRequest]] as const) {
      await waitFor(`${name} /health to say ok again`, async () => (await request('GET', '/health')).status === 200, 20_000, () => logs);
    }
    // nothing restarted: the same processes take submits again, and their jobs run
    await submitAndFinish('node');
    await submitAndFinish('edge');
  }

  it('Redis out of memory (maxmemory reached, noeviction)', async () => {
    await redis.outOfMemory(true);
    try {
      await everyRoute('out of memory');
    } finally {
      await redis.outOfMemory(false);
    }
    await backToNormal();
  });

  it('Redis stalled (SIGSTOP): no answer at all', async () => {
    redis.pause();
    try {
      await everyRoute('stalled');
    } finally {
      redis.resume();
    }
    await backToNormal();
  });

  it('Redis down (killed), then started again', async () => {
    await redis.halt();
    try {
      await everyRoute('down');
    } finally {
      await redis.restart();
    }
    await backToNormal();
  });
});

describe('stopping whether or not Redis answers', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis({ appendonly: true });
    cleanups.push(() => redis.stop());
  });

  async function spawnerWithJob(extra: Record<string, string>, sleepMs: number) {
    const prefix = `stop${process.pid}x${Math.random().toString(36).slice(2, 8)}`;
    const env = await spawnerEnv({
      redisUrl: redis.url, prefix, stateDir: tempDir(),
      types: { node: { framework: 'node', version: '20', max_jobs: 2, max_workers: 1, min_workers: 1, idle_timeout: 60 } },
      extra: { KILN_REDIS_TIMEOUT_MS: '300', KILN_KILL_GRACE_MS: '500', ...extra },
    });
    const sp = await startSpawnerProcess(env);
    cleanups.push(() => sp.kill('SIGKILL'));
    const client = createTestApi({ redis: redis.client(), prefix, spawnerUrl: sp.url, token: sp.token });
    const r = await client.request('POST', '/jobs', { function: 'sleep', input: { ms: sleepMs } });
    expect(r.status).toBe(202);
    const jobId = r.body.job_id as string;
    const job = await waitFor('the job to run', async () => {
      const j = await client.job(jobId);
      return j.status === 'running' ? j : undefined;
    }, 20_000, () => sp.log);
    const status = await (await fetch(`${sp.url}/workers/status`, { headers: { authorization: `Bearer ${sp.token}` } })).json() as any;
    const workerPid = Number(status.worker_details[job.worker_id].process_id);
    return { env, sp, client, jobId, workerPid };
  }

  const exited = (sp: SpawnerProcess) => new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (sp.proc.exitCode !== null || sp.proc.signalCode !== null) resolve({ code: sp.proc.exitCode, signal: sp.proc.signalCode });
    else sp.proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('SIGTERM with Redis stalled: the spawner exits within its drain grace, and the next run finishes the job it held', async () => {
    const graceMs = 3000;
    const { env, sp, client, jobId, workerPid } = await spawnerWithJob({ KILN_DRAIN_GRACE_MS: String(graceMs) }, 1000);
    redis.pause();
    const t0 = performance.now();
    let exit;
    try {
      sp.proc.kill('SIGTERM');
      exit = await exited(sp);
    } finally {
      redis.resume();
    }
    const ms = performance.now() - t0;
    expect(ms, sp.log.join('\n')).toBeLessThan(graceMs);
    expect(exit, sp.log.join('\n')).toEqual({ code: 0, signal: null });
    await waitFor('the worker process to be gone', async () => !alive(workerPid));
    // the job the stopped spawner held runs again: its exit record, or the next run's recovery, gives it back
    const next = await startSpawnerProcess(env);
    cleanups.push(() => next.kill('SIGKILL'));
    const job = await waitFor('the job to succeed after the restart', async () => {
      const j = await client.job(jobId);
      return j.status === 'succeeded' ? j : undefined;
    }, 20_000, () => next.log);
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    await next.kill('SIGTERM');
  });

  it('a second SIGINT stops at once, killing the workers still draining', async () => {
    const { sp, workerPid } = await spawnerWithJob({ KILN_DRAIN_GRACE_MS: '60000' }, 30_000);
    sp.proc.kill('SIGINT');
    await waitFor('the drain to start', async () => sp.log.some((l) => /SIGINT: draining workers/.test(l)), 10_000, () => sp.log);
    expect(sp.proc.exitCode).toBeNull(); // draining: the job still runs
    const t0 = performance.now();
    sp.proc.kill('SIGINT');
    const exit = await exited(sp);
    expect(performance.now() - t0, sp.log.join('\n')).toBeLessThan(2000);
    expect(exit.code, sp.log.join('\n')).toBe(130);
    await waitFor('the worker process to be gone', async () => !alive(workerPid), 5000);
  });

  it('`npm start` (dist/start.mjs) stops on SIGTERM within the drain grace while Redis is stalled', async () => {
    const graceMs = 3000;
    const stateDir = tempDir();
    const env = await spawnerEnv({
      redisUrl: redis.url, prefix: `start${process.pid}`, stateDir,
      types: { node: { framework: 'node', version: '20', max_jobs: 2, max_workers: 1, min_workers: 1, idle_timeout: 60 } },
      extra: { KILN_REDIS_TIMEOUT_MS: '300', KILN_KILL_GRACE_MS: '500', KILN_DRAIN_GRACE_MS: String(graceMs), API_PORT: String(await freePort()) },
    });
    const proc = spawn(process.execPath, [join(import.meta.dirname, '..', 'dist', 'start.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const out: string[] = [];
    for (const s of [proc.stdout, proc.stderr]) s.on('data', (d: Buffer) => out.push(d.toString()));
    await waitFor('npm start to be up', async () => out.join('').includes('Ctrl-C stops everything'), 20_000, () => out);
    const health = await fetch(`http://127.0.0.1:${env.API_PORT}/health`);
    expect(health.status).toBe(200);
    redis.pause();
    const t0 = performance.now();
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    let code;
    try {
      proc.kill('SIGTERM');
      code = await exit;
    } finally {
      redis.resume();
    }
    expect(performance.now() - t0, out.join('')).toBeLessThan(graceMs);
    expect(code, out.join('')).toBe(0);
  });
});
