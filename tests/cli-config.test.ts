/** The spawner CLI, worker type configuration files, the token file and Redis safety checks. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../core/keys';
import { DEFAULT_BREAKER } from '../spawner/breaker';
import { loadWorkerTypes } from '../spawner/config';
import { checkRedisSafety } from '../spawner/redis-safety';
import { ensureToken, tokenFile } from '../spawner/token';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'spawner.mjs');
const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-'));

let redis: RedisServer;
let sys: System;
beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', max_jobs: 2, max_workers: 2 },
      // for ensure: a type whose workers never start, and one another host serves
      broken: { framework: 'sklearn', version: '1.2', python: '/nonexistent/python3', max_jobs: 1, max_workers: 1 },
      shared: { framework: 'node', version: '20', max_jobs: 1, max_workers: 1 },
    },
    // a backoff long enough to see ensure refuse during it
    spawner: { breaker: { ...DEFAULT_BREAKER, baseDelayMs: 60_000 } },
  });
});
afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cli = async (...args: string[]) => {
  try {
    const r = await run(process.execPath, [CLI, ...args, '--url', sys.spawner.url], { env: { ...process.env, SPAWNER_TOKEN: sys.spawner.token } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('spawner CLI', () => {
  it('starts, lists and stops workers, as a table or JSON', async () => {
    const started = await cli('start', 'node', '--json');
    expect(started.code).toBe(0);
    const { worker_id } = JSON.parse(started.stdout) as { worker_id: string };
    const table = await cli('status');
    expect(table.stdout).toMatch(/WORKER_ID\s+WORKER_TYPE/);
    expect(table.stdout).toContain(worker_id);
    const json = JSON.parse((await cli('status', '--json')).stdout) as { worker_details: Record<string, unknown> };
    expect(Object.keys(json.worker_details)).toContain(worker_id);
    expect((await cli('ensure', 'node')).stdout).toContain(`existing ${worker_id}`);
    expect((await cli('types')).stdout).toMatch(/node\s+node\s+20/);
    expect((await cli('stop', worker_id)).code).toBe(0);
  });

  it('ensure waits for the worker it starts: non-zero with the reason when it fails, and refuses during the backoff', async () => {
    const failed = await cli('ensure', 'broken');
    expect(failed.code, failed.stdout).toBe(5);
    expect(failed.stdout).not.toContain('started');
    expect(failed.stderr).toMatch(/ensure broken: failed_to_start broken-\w+: worker failed to start: .*ENOENT/);
    const refused = await cli('ensure', 'broken', '--json');
    expect(refused.code).toBe(5);
    const body = JSON.parse(refused.stdout) as { action: string; until: string; reason: string; worker_id: string | null };
    expect(body).toMatchObject({ action: 'backing_off', worker_id: null });
    expect(Date.parse(body.until)).toBeGreaterThan(Date.now() + 30_000);
    expect(body.reason).toContain(`back off until ${body.until}`);
    // no worker was started for the refused call
    expect(sys.logs.filter((l) => l.includes('started broken-'))).toHaveLength(1);
  });

  it('ensure takes the same cross-host reservation as the reconciler: a worker another host runs counts', async () => {
    const keys = createKeys(sys.prefix);
    const id = 'shared-0ther0st';
    await sys.redis.multi()
      .hset(keys.worker(id), { worker_id: id, worker_type: 'shared', status: 'idle', host: 'other-host', created_at: Date.now(), last_activity: Date.now() })
      .sadd(keys.workersOfType('shared'), id).sadd(keys.workers(), id).set(keys.lease(id), Date.now(), 'PX', 60_000)
      .exec();
    try {
      const r = await cli('ensure', 'shared', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ action: 'existing', worker_id: null });
      expect(sys.spawner.supervisor.ofType('shared')).toHaveLength(0);
    } finally {
      await sys.redis.multi().del(keys.worker(id), keys.lease(id)).srem(keys.workersOfType('shared'), id).srem(keys.workers(), id).exec();
    }
    // with nobody serving it, ensure starts one here and answers once it is ready
    const started = await cli('ensure', 'shared', '--json');
    expect(started.code, started.stderr).toBe(0);
    const { action, worker_id } = JSON.parse(started.stdout) as { action: string; worker_id: string };
    expect(action).toBe('started');
    expect(sys.spawner.supervisor.workers.get(worker_id)?.state).toBe('idle');
    expect((await cli('stop', worker_id)).code).toBe(0);
  });

  it('fails with a non-zero exit code and a message', async () => {
    const unknown = await cli('start', 'cobol');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown worker type');
    const usage = await cli('frobnicate');
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('unknown command');
    const raw = (args: string[], env: NodeJS.ProcessEnv) =>
      run(process.execPath, [CLI, ...args], { env }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    const down = await raw(['status', '--url', 'http://127.0.0.1:9'], process.env);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain('cannot reach the spawner');
    const noToken = await raw(['start', 'node', '--url', sys.spawner.url], { ...process.env, SPAWNER_TOKEN: 'wrong' });
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toContain('401');
  });
});

describe('WORKER_TYPES_FILE', () => {
  it('merges overrides into built-in types and adds new ones', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify({ sklearn: { max_workers: 7 }, etl: { framework: 'node', version: '20', max_jobs: 8 } }));
    const types = loadWorkerTypes({ WORKER_TYPES_FILE: file });
    expect(types.sklearn).toMatchObject({ framework: 'sklearn', max_workers: 7 });
    expect(types.etl).toMatchObject({ framework: 'node', max_jobs: 8, min_workers: 0 });
  });
  it('names the bad field', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ sklearn: { max_workers: -1 } }));
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/sklearn\.max_workers/);
    writeFileSync(file, JSON.stringify({ newtype: { version: '1' } }));
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/newtype\.framework/);
    writeFileSync(file, '{not json');
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/could not be read as JSON/);
    writeFileSync(file, JSON.stringify({ t: { framework: 'node', version: '1', min_workers: 3, max_workers: 1 } }));
    expect(() => loadWorkerTypes({ WORKER_TYPES_FILE: file })).toThrow(/min_workers/);
  });
});

describe('token', () => {
  it('is generated once into a 0600 file and reused', () => {
    const state = join(dir, 'state');
    const a = ensureToken(state, undefined);
    expect(a.length).toBeGreaterThan(20);
    expect(statSync(tokenFile(state)).mode & 0o777).toBe(0o600);
    expect(ensureToken(state, undefined)).toBe(a);
    expect(ensureToken(state, 'from-env')).toBe('from-env');
  });
});

describe('Redis safety', () => {
  it('warns about eviction and missing persistence, and --strict refuses', async () => {
    const client = redis.client();
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const warnings: string[] = [];
    const problems = await checkRedisSafety(client, { strict: false, log: (_l, m) => warnings.push(m) });
    expect(problems.join(' ')).toContain('allkeys-lru');
    expect(problems.join(' ')).toContain('no persistence');
    expect(warnings).toHaveLength(2);
    await expect(checkRedisSafety(client, { strict: true, log: () => {} })).rejects.toThrow(/refusing to start/);
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    await client.config('SET', 'appendonly', 'yes');
    expect(await checkRedisSafety(client, { strict: true, log: () => {} })).toEqual([]);
    // stop the AOF rewrite child that turning appendonly on forked, before the server is removed
    await client.config('SET', 'appendonly', 'no');
  });
});
