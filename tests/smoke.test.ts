/**
 * `npm run smoke` (scripts/smoke.mjs) against a running system: it stops exactly the
 * workers it started, by id, and never one that was running before it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type HttpApp, serveHttp } from './helpers/http-app';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const SMOKE = join(import.meta.dirname, '..', 'scripts', 'smoke.mjs');

let redis: RedisServer;
let sys: System;
let api: HttpApp;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 2, max_workers: 2 } } });
  api = await serveHttp(sys.api);
});

afterAll(async () => {
  await api?.close();
  await sys?.stop();
  await redis?.stop();
});

async function smoke(): Promise<string> {
  const env = { ...process.env, API_URL: api.url, WORKER_MANAGER_URL: sys.spawner.url, SPAWNER_TOKEN: sys.spawner.token, KILN_STATE_DIR: sys.stateDir };
  // exit code ignored: the training check needs a pytorch-2.1 type this system does not have
  const r = await promisify(execFile)(process.execPath, [SMOKE], { env, timeout: 60_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return r.stdout;
}
const nodeWorkers = async () => Object.keys((await sys.request('GET', '/workers/status')).body.worker_details ?? {});

it('leaves a worker that was running before it alone', async () => {
  const w = sys.spawner.supervisor.start('node');
  await sys.waitFor('the worker to be ready', async () => w.state === 'idle');
  const out = await smoke();
  expect(out).toContain('PASS  spawning: ensure a node worker');
  expect(out).toContain('none stopped');
  expect(await nodeWorkers()).toContain(w.id);
  await sys.spawner.supervisor.stop(w, { graceMs: 5000, reason: { kind: 'stopped', by: 'the test' } });
  await sys.waitFor('the worker to be gone', async () => (await nodeWorkers()).length === 0);
});

it('stops the worker it started, by id', async () => {
  const out = await smoke();
  const id = /"worker_id":"(node-[^"]+)"/.exec(out)?.[1];
  expect(id, out).toBeDefined();
  expect(out).toContain(`PASS  cleanup: stop ${id} (started by this run)`);
  expect(out).toContain(`PASS  cleanup: ${id} is gone from the status`);
  expect(await nodeWorkers()).not.toContain(id);
});
