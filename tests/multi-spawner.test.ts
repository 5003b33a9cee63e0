/** Two spawners (two hosts) sharing one Redis: together they start what the queue needs, not twice that. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startSpawner, type SpawnerHandle } from '../spawner/daemon';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

let redis: RedisServer;
let a: System;
let b: SpawnerHandle;
const stateB = mkdtempSync(join(tmpdir(), 'kiln-host-b-'));

afterAll(async () => {
  await b?.stop(1000);
  await a?.stop();
  await redis?.stop();
  rmSync(stateB, { recursive: true, force: true });
});

it('starts one worker per queued job across both hosts, and every job runs once', async () => {
  redis = await startRedis();
  // no spawner URL: workers come only from the two reconcile loops
  a = await startSystem(redis, {
    types: { node: { framework: 'node', version: '20', max_jobs: 1, max_workers: 5, idle_timeout: 60 } },
    spawnerUrl: null,
  });
  b = await startSpawner({ ...a.config, hostId: 'host-b', stateDir: stateB, port: 0 }, () => {});
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await a.request('POST', '/jobs', { function: 'sleep', input: { ms: 1500 } })).body.job_id);
  await a.waitFor('all three running', async () => (await Promise.all(ids.map((id) => a.job(id)))).every((j) => j.status === 'running'));
  // let both loops tick a few more times with the jobs running
  await new Promise((r) => setTimeout(r, 500));
  const total = a.spawner.supervisor.workers.size + b.supervisor.workers.size;
  expect(total).toBe(3);
  for (const id of ids) expect((await a.waitFor('success', async () => { const j = await a.job(id); return j.status === 'succeeded' && j; })).attempts).toBe(1);
});
