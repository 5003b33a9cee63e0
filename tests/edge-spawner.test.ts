/**
 * The API inside workerd (api/workerd.ts under Miniflare, as wrangler dev runs it)
 * against a real spawner: Redis through the gateway mounted at /redis on the
 * spawner (KILN_REDIS_GATEWAY=on, with its own token), the ensure call through
 * fetch with the spawner's token — and, with no spawner URL configured, jobs
 * still get workers from the spawner's own loop.
 */
import { Miniflare } from 'miniflare';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';
import { bundleWorkerd, type WorkerdBundle } from './helpers/workerd-bundle';

const FIXTURES = join(import.meta.dirname, 'fixtures');

let redis: RedisServer;
let sys: System;
let bundle: WorkerdBundle;
let mf: Miniflare;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await mf.dispatchFetch(`http://localhost${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

/** Points the workerd API at the spawner for ensure calls, or not. */
async function configure(ensure: boolean): Promise<void> {
  await mf.setOptions({
    modules: true, scriptPath: bundle.scriptPath, modulesRoot: bundle.modulesRoot, cf: false, compatibilityDate: '2026-04-01',
    bindings: {
      UPSTASH_REDIS_REST_URL: `${sys.spawner.url}/redis`,
      UPSTASH_REDIS_REST_TOKEN: sys.spawner.gatewayToken!,
      KILN_PREFIX: sys.prefix,
      ...(ensure ? { WORKER_MANAGER_URL: sys.spawner.url, SPAWNER_TOKEN: sys.spawner.token } : {}),
    },
  });
}

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1, min_workers: 0 } },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'functions.mjs'), KILN_REDIS_GATEWAY: 'on' },
  });
  bundle = await bundleWorkerd();
  mf = new Miniflare({ modules: true, scriptPath: bundle.scriptPath, modulesRoot: bundle.modulesRoot, cf: false, compatibilityDate: '2026-04-01' });
});

afterAll(async () => {
  await mf?.dispose();
  bundle?.remove();
  await sys?.stop();
  await redis?.stop();
});

describe('API in workerd against a real spawner', () => {
  it('with no spawner URL the job is queued without an ensure call, and the spawner loop serves it', async () => {
    await configure(false);
    const submit = await call('POST', '/jobs', { function: 'echo', input: { via: 'loop' } });
    expect(submit.status).toBe(202);
    expect(submit.body).toMatchObject({ status: 'queued', worker_type: 'node', worker_ensured: false });
    const done = await sys.waitFor('the job to succeed', async () => {
      const j = (await call('GET', `/jobs/${submit.body.job_id}`)).body;
      return j.status === 'succeeded' && j;
    });
    expect(done.result).toEqual({ via: 'loop' });
    expect(done.worker_id).toMatch(/^node-/);
  });

  it('GET /jobs/:id/events streams the transitions as SSE from workerd, then ends', async () => {
    await configure(false);
    const submit = await call('POST', '/jobs', { function: 'echo', input: { via: 'sse' } });
    const res = await mf.dispatchFetch(`http://localhost/jobs/${submit.body.job_id}/events`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // the stream closes after the job's end
    const statuses = [...text.matchAll(/"status":"(\w+)"/g)].map((m) => m[1]);
    expect(statuses.slice(0, 3)).toEqual(['queued', 'running', 'succeeded']);
    expect(text).toMatch(/event: end\ndata: \{[^\n]*"result":\{"via":"sse"\}/);
  });

  it('with the spawner URL the ensure call goes through fetch with the token', async () => {
    await configure(true);
    const health = await call('GET', '/health');
    expect(health.body).toEqual({ status: 'ok', redis: 'ok', spawner: 'ok' });
    const submit = await call('POST', '/jobs', { function: 'echo', input: { via: 'ensure' } });
    expect(submit.status).toBe(202);
    // a 401 from the spawner would leave worker_ensured false with the reason
    expect(submit.body).toMatchObject({ worker_ensured: true, ensure_action: expect.any(String) });
    const done = await sys.waitFor('the job to succeed', async () => {
      const j = (await call('GET', `/jobs/${submit.body.job_id}`)).body;
      return j.status === 'succeeded' && j;
    });
    expect(done.result).toEqual({ via: 'ensure' });
  });
});
