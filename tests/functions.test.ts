/**
 * Node functions as a user writes them: `kiln/functions` (JobFailure), `retryable: false`
 * on anything thrown, and the function names the spawner registers for the API.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../core/keys';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures');

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1 } },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'failure-functions.mjs') },
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
const finished = (id: string) =>
  sys.waitFor(`job ${id} to finish`, async () => {
    const j = await sys.job(id);
    return j.status === 'failed' && j;
  });

describe('kiln/functions', () => {
  it('resolves once Kiln is installed as a dependency', () => {
    const app = mkdtempSync(join(tmpdir(), 'kiln-app-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(ROOT, join(app, 'node_modules', 'kiln'), 'dir');
      writeFileSync(join(app, 'fns.mjs'), "import { JobFailure } from 'kiln/functions';\nconst f = new JobFailure('x', { retryable: false });\nconsole.log(JSON.stringify({ name: f.name, retryable: f.retryable, error: f.error, isError: f instanceof Error }));\n");
      const out = JSON.parse(execFileSync(process.execPath, [join(app, 'fns.mjs')], { cwd: app, encoding: 'utf8' }));
      expect(out).toEqual({ name: 'JobFailure', retryable: false, error: { type: 'JobFailure', message: 'x' }, isError: true });
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('a JobFailure from kiln/functions with retryable: false fails the job for good', async () => {
    const f = await finished(await submit({ function: 'badInput', input: { n: 1 }, max_attempts: 4 }));
    expect(f.attempts).toBe(1);
    expect(f.error).toMatchObject({ type: 'handler_error', exception: 'BadInput', message: 'no good: {"n":1}' });
  });

  it('an Error subclass or a plain object with retryable: false is not retried either', async () => {
    const sub = await finished(await submit({ function: 'overQuota', max_attempts: 4 }));
    expect(sub.attempts).toBe(1);
    expect(sub.error).toMatchObject({ type: 'handler_error', exception: 'QuotaError', message: 'over quota' });
    const plain = await finished(await submit({ function: 'plainObject', max_attempts: 4 }));
    expect(plain.attempts).toBe(1);
    expect(plain.error).toMatchObject({ type: 'handler_error', exception: 'PlainFailure', message: 'a plain object' });
  });

  it('a JobFailure is retryable by default', async () => {
    const f = await finished(await submit({ function: 'flaky', max_attempts: 2, backoff: { delay_ms: 10 } }));
    expect(f.attempts).toBe(2);
    expect(f.error).toMatchObject({ type: 'handler_error', exception: 'JobFailure', message: 'try again' });
  });
});

describe('function names registered by the spawner', () => {
  it('POST /jobs with an unknown function is a 400 that names it and lists the registered ones', async () => {
    const r = await sys.request('POST', '/jobs', { function: 'badInptu', input: {} });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'UNKNOWN_FUNCTION', field: 'function' });
    expect(r.body.error.message).toContain('unknown function "badInptu"');
    expect(r.body.error.message).toMatch(/registered functions are: .*badInput, echo, fail, flaky, overQuota, plainObject/);
  });

  it('a wrong KILN_FUNCTIONS_MODULE fails the spawner start, naming the variable and the path', async () => {
    await expect(startSystem(redis, { env: { KILN_FUNCTIONS_MODULE: '/nonexistent/kiln-fns.mjs' } }))
      .rejects.toThrow('KILN_FUNCTIONS_MODULE is /nonexistent/kiln-fns.mjs, which does not exist');
  });

  it('a changed module is read again: its new names are accepted and new workers run its new code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-fns-'));
    const file = join(dir, 'fns.mjs');
    writeFileSync(file, "export const hello = () => 'v1';\n");
    const s = await startSystem(redis, {
      types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 1, max_workers: 1 } },
      env: { KILN_FUNCTIONS_MODULE: file },
    });
    try {
      const run = async (fn: string) => {
        const r = await s.request('POST', '/jobs', { function: fn });
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        return s.waitFor(`${fn} to succeed`, async () => {
          const j = await s.job(r.body.job_id);
          return j.status === 'succeeded' && j;
        });
      };
      const first = await run('hello');
      expect(first.result).toBe('v1');
      expect((await s.request('POST', '/jobs', { function: 'added' })).status).toBe(400);

      // as an editor saves: a new file renamed over the old one
      writeFileSync(`${file}.tmp`, "export const hello = () => 'v2';\nexport const added = () => 'new';\n");
      renameSync(`${file}.tmp`, file);
      const keys = createKeys(s.prefix);
      await s.waitFor('the new names in Redis', async () => (await s.redis.hget(keys.functions(), s.config.hostId))?.includes('"added"'));
      await s.waitFor('the old worker to drain', async () => !s.spawner.supervisor.workers.has(first.worker_id));
      const second = await run('hello');
      expect(second.result).toBe('v2');
      expect(second.worker_id).not.toBe(first.worker_id);
      expect((await run('added')).result).toBe('new');
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no names registered (no spawner yet) any function is accepted, as before', async () => {
    const keys = createKeys(sys.prefix);
    await sys.redis.del(keys.functions());
    expect((await sys.request('POST', '/jobs', { function: 'notRegistered' })).status).toBe(202);
  });
});
