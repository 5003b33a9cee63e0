/**
 * Issue #9, secrets: a worker type's env values and interpreter path never leave
 * the host. Not in the types registry in Redis, not in any other Redis key, not in
 * any answer of the API or the spawner (types, status, workers, jobs), not in a
 * crashed worker's stderr tail or exit message; and every spawner route but
 * GET /health needs the token.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../core/ioredis-port';
import { createKeys } from '../core/keys';
import { publishTypes } from '../spawner/type-registry';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const SECRET = 'hf_SuperSecretValue_9f8e7d6c5b4a';
const PYTHON = '/opt/kiln-secret-venv/bin/python3';
const FIXTURES = join(import.meta.dirname, 'fixtures');
const CLI = join(import.meta.dirname, '..', 'bin', 'spawner.mjs');
const REAL_PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'kiln-secrets-'));

let redis: RedisServer;
let sys: System;
beforeAll(async () => {
  redis = await startRedis();
  const typesFile = join(dir, 'types.json');
  writeFileSync(typesFile, JSON.stringify({
    // a built-in type merged with an interpreter and a secret
    sklearn: { python: PYTHON, python_path: ['/opt/kiln-secret-lib'], env: { HF_TOKEN: SECRET, MODE: 'x' } },
    // a Node type that crashes after printing its secret
    leaky: { framework: 'node', version: '20', max_jobs: 1, max_workers: 1, env: { HF_TOKEN: SECRET } },
    // a Python type whose interpreter does not exist: its start-up failure names it
    'leaky-py': { framework: 'sklearn', version: '1.3', python: PYTHON, max_workers: 1, env: { HF_TOKEN: SECRET } },
    // a real interpreter with the wrong framework version: its warning names the interpreter
    ...(existsSync(REAL_PYTHON) && { warny: { framework: 'fake', version: '9.9', python: REAL_PYTHON, python_path: [join(FIXTURES, 'fake_framework')], min_workers: 1, max_workers: 1 } }),
  }));
  sys = await startSystem(redis, { env: { WORKER_TYPES_FILE: typesFile, KILN_FUNCTIONS_MODULE: join(FIXTURES, 'secret-functions.mjs') } });
});
afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fromSpawner = async (path: string, token: string | null = sys.spawner.token, method = 'GET') => {
  const res = await fetch(`${sys.spawner.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
};

/** Every value under the test's prefix, whatever the key's type, as one string. */
async function dumpRedis(client: Redis, prefix: string): Promise<string> {
  const out: string[] = [];
  for await (const batch of client.scanStream({ match: `${prefix}:*`, count: 500 })) {
    for (const key of batch as string[]) {
      const type = await client.type(key);
      const value =
        type === 'string' ? await client.get(key)
        : type === 'hash' ? await client.hgetall(key)
        : type === 'list' ? await client.lrange(key, 0, -1)
        : type === 'set' ? await client.smembers(key)
        : type === 'zset' ? await client.zrange(key, '0', '-1')
        : type === 'stream' ? await client.xrange(key, '-', '+')
        : `(${type})`;
      out.push(`${key} ${JSON.stringify(value)}`);
    }
  }
  return out.join('\n');
}

function expectNoSecret(text: string, what: string): void {
  expect(text.includes(SECRET), `${what} carries the HF_TOKEN value`).toBe(false);
  expect(text.includes(PYTHON), `${what} carries the interpreter path`).toBe(false);
  expect(text.includes('/opt/kiln-secret-lib'), `${what} carries python_path`).toBe(false);
}

describe('env values and interpreters stay on the host', () => {
  it('the types registry in Redis holds env names only, and no interpreter', async () => {
    const keys = createKeys(sys.prefix);
    const raw = await sys.redis.hgetall(keys.types());
    expect(Object.keys(raw)).toEqual(expect.arrayContaining(['sklearn', 'leaky', 'leaky-py', 'node']));
    expectNoSecret(JSON.stringify(raw), 'the raw types hash');
    const sklearn = JSON.parse(raw.sklearn!) as Record<string, unknown>;
    expect(sklearn.env).toEqual(['HF_TOKEN', 'MODE']);
    expect(sklearn).not.toHaveProperty('python');
    expect(sklearn).not.toHaveProperty('python_path');
    expect(sklearn).toMatchObject({ framework: 'sklearn', max_workers: 2, host: sys.config.hostId });
    expect(JSON.parse(raw.node!)).toMatchObject({ env: [] });
  });

  it('GET /workers/types on the API and on the spawner: env names, no values, no interpreter', async () => {
    const api = await sys.request('GET', '/workers/types');
    expect(api.status).toBe(200);
    expectNoSecret(JSON.stringify(api.body), 'API GET /workers/types');
    expect(api.body.types.leaky.env).toEqual(['HF_TOKEN']);
    expect(api.body.types.sklearn).not.toHaveProperty('python');
    const spawner = await fromSpawner('/workers/types');
    expect(spawner.status).toBe(200);
    expectNoSecret(spawner.text, 'spawner GET /workers/types');
    const body = JSON.parse(spawner.text) as { types: Record<string, Record<string, unknown>> };
    // the same shape as the API's
    expect(body.types['leaky-py']).toEqual(api.body.types['leaky-py']);
    expect(body.types.sklearn!.env).toEqual(['HF_TOKEN', 'MODE']);
  });

  it("a worker's crash output and a failed start are stored with the secret and the interpreter redacted", async () => {
    const crash = await sys.request('POST', '/jobs', { function: 'leakSecretAndCrash', worker_type: 'leaky', max_attempts: 1 });
    expect(crash.status).toBe(202);
    const noPython = await sys.request('POST', '/jobs', { worker_type: 'leaky-py', payload: {}, max_attempts: 1 });
    expect(noPython.status).toBe(202);
    const crashed = await sys.waitFor('the crashing job to fail', async () => {
      const j = await sys.job(crash.body.job_id);
      return j.status === 'failed' && j;
    }, 30_000);
    const tail = (crashed.error.stderr_tail as string[]).join('\n');
    expect(tail).toContain('HF_TOKEN is [redacted]');
    expectNoSecret(JSON.stringify(crashed), 'the crashed job');
    // the job waits (its worker cannot start); the reason it shows names neither the interpreter nor the state folder
    const reason = await sys.waitFor('the type without an interpreter to report why', async () => {
      const j = await sys.job(noPython.body.job_id);
      return typeof j.waiting_reason === 'string' && j.waiting_reason.includes('failed to start') && (j.waiting_reason as string);
    }, 30_000);
    expect(reason).toContain('spawn [redacted] ENOENT');
    expect(reason).not.toContain(sys.stateDir);
    const unstartedId = /\$KILN_STATE_DIR\/workers\/(leaky-py-[0-9a-f]+)/.exec(reason)?.[1];
    expect(unstartedId, reason).toBeDefined();
    const unstarted = await sys.waitFor('the exit record of the worker that could not start', async () => {
      const w = await sys.request('GET', `/workers/${unstartedId}`);
      return w.body.exit && w;
    }, 10_000);
    expect(unstarted.body.exit).toMatchObject({ reason: 'failed-to-start', message: expect.stringContaining('[redacted]') });
    expectNoSecret(JSON.stringify(unstarted.body), 'GET /workers/:id of the worker that could not start');
    expect((await sys.request('DELETE', `/jobs/${noPython.body.job_id}`)).status).toBe(200);
    const worker = await sys.request('GET', `/workers/${crashed.error.worker_id}`);
    expect(worker.status).toBe(200);
    expect(worker.body.exit.stderr_tail.join('\n')).toContain('[redacted]');
    expectNoSecret(JSON.stringify(worker.body), 'GET /workers/:id of the crashed worker');
    // the host's own layout is not shown either
    expect(worker.body.working_directory).toBe(`workers/${crashed.error.worker_id}`);
    expect(JSON.stringify(worker.body)).not.toContain(sys.stateDir);
  });

  it.skipIf(!existsSync(REAL_PYTHON))("a version warning is stored without the type's interpreter path", async () => {
    const warning = await sys.waitFor('the version warning of warny', async () => {
      const s = await sys.request('GET', '/workers/status');
      return s.body.types.warny?.warning as string | null | undefined;
    }, 30_000);
    expect(warning).toContain('expects fake 9.9 but [redacted] has fake');
    expect(warning).not.toContain(REAL_PYTHON);
  });

  it("a job's log and error are stored with the secret redacted", async () => {
    const r = await sys.request('POST', '/jobs', { function: 'leakSecretInLogs', worker_type: 'leaky', max_attempts: 1 });
    expect(r.status).toBe(202);
    const failed = await sys.waitFor('the job to fail', async () => {
      const j = await sys.job(r.body.job_id);
      return j.status === 'failed' && j;
    }, 30_000);
    expect(failed.error.message).toBe('the hub refused [redacted]');
    expectNoSecret(JSON.stringify(failed), 'the failed job');
    const logs = await sys.request('GET', `/jobs/${r.body.job_id}/logs`);
    expect(logs.status).toBe(200);
    expect(JSON.stringify(logs.body)).toContain('calling the hub with [redacted]');
    expectNoSecret(JSON.stringify(logs.body), 'the job log');
  });

  it('no answer of the API or the spawner, and no key in Redis, carries the secret', async () => {
    const answers = [
      await sys.request('GET', '/workers/status'),
      await sys.request('GET', '/jobs?limit=100'),
      await sys.request('GET', '/workers/types'),
    ].map((r) => JSON.stringify(r.body));
    answers.push((await fromSpawner('/workers/status')).text, (await fromSpawner('/workers/types')).text, (await fromSpawner('/metrics')).text);
    for (const [i, a] of answers.entries()) {
      expectNoSecret(a, `answer ${i}`);
      expect(a.includes(sys.stateDir), `answer ${i} names the state folder`).toBe(false);
    }
    expectNoSecret(await dumpRedis(sys.redis, sys.prefix), 'Redis');
  });

  it('the CLI shows env names only (spawner status and types)', async () => {
    const env = { ...process.env, SPAWNER_TOKEN: sys.spawner.token, WORKER_TYPES_FILE: join(dir, 'types.json') };
    const status = await promisify(execFile)(process.execPath, [CLI, 'status', '--json', '--url', sys.spawner.url], { env });
    expectNoSecret(status.stdout, 'spawner status --json');
    const types = await promisify(execFile)(process.execPath, [CLI, 'types', '--json'], { env });
    expect(types.stdout.includes(SECRET)).toBe(false);
    expect(JSON.parse(types.stdout).types.leaky.env).toEqual(['HF_TOKEN']);
  });

  it('an entry an older spawner wrote with env values is cleaned at start-up', async () => {
    const keys = createKeys(`${sys.prefix}-legacy`);
    const client = sys.redis;
    const legacy = JSON.stringify({ framework: 'node', version: '20', env: { HF_TOKEN: SECRET }, python: PYTHON, host: 'old-host' });
    await client.hset(keys.types(), 'old-type', legacy);
    const logs: string[] = [];
    await publishTypes({ redis: client, port: createIoredisPort(client), keys, log: (_l, m) => logs.push(m) }, {}, 'new-host');
    const after = JSON.parse((await client.hget(keys.types(), 'old-type'))!) as Record<string, unknown>;
    expect(after).toEqual({ framework: 'node', version: '20', env: ['HF_TOKEN'], host: 'old-host' });
    expect(logs.join('\n')).toContain('cleaned 1 worker type registry entry');
  });
});

describe('the spawner is closed by default', () => {
  it('every route but GET /health answers 401 without the token, and the 401 names no path of the host', async () => {
    for (const [method, path] of [
      ['GET', '/workers/status'], ['GET', '/workers/types'], ['GET', '/workers/node-1a2b3c4d/logs'], ['GET', '/workers/node-1a2b3c4d'],
      ['GET', '/metrics'], ['POST', '/workers/ensure/node'], ['POST', '/workers/start/node'], ['POST', '/workers/stop/node-1a2b3c4d'],
    ] as const) {
      for (const token of [null, 'wrong']) {
        const r = await fromSpawner(path, token, method);
        expect(r.status, `${method} ${path} with ${token ?? 'no'} token`).toBe(401);
        expect(r.text).not.toContain(sys.stateDir);
      }
    }
    const denied = JSON.parse((await fromSpawner('/workers/status', null)).text) as { error: { code: string; message: string } };
    expect(denied.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('SPAWNER_TOKEN') });
    expect((await fromSpawner('/health', null)).status).toBe(200);
    expect((await fromSpawner('/workers/status')).status).toBe(200);
  });
});
