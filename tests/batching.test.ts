/**
 * Dynamic batching end to end: one sklearn worker with `batch: {max_size: 4, max_wait_ms}`.
 * Jobs of one model submitted together run as one batch (each records batch_size); a bad input
 * fails its job alone; a lone job runs once max_wait_ms passed, as a batch of 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const hasSklearn = spawnSync(PY, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
const WAIT_MS = 600;

let redis: RedisServer;
let s: System;

beforeAll(async () => {
  if (!hasSklearn) return;
  redis = await startRedis();
  s = await startSystem(redis, {
    types: { sklearn: { framework: 'sklearn', version: '1.2.1', python: PY, max_jobs: 1, min_workers: 1, max_workers: 1, idle_timeout: 60, batch: { max_size: 4, max_wait_ms: WAIT_MS } } },
  });
  mkdirSync(s.config.dataRoot, { recursive: true });
  const rows = ['x1,x2,label'];
  for (let i = 0; i < 120; i++) rows.push(`${(i % 17) / 17},${(i % 5) / 5},${(i % 17) / 17 + (i % 5) / 5 > 0.9 ? 1 : 0}`);
  writeFileSync(join(s.config.dataRoot, 'points.csv'), `${rows.join('\n')}\n`);
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await redis?.stop();
});

const post = async (path: string, body: unknown) => {
  const r = await s.request('POST', path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const until = (id: string, statuses: string[]) => s.waitFor(`job ${id} to be ${statuses.join('|')}`, async () => {
  const j = await s.job(id);
  return statuses.includes(j.status) && j;
}, 30_000);

describe.skipIf(!hasSklearn)('dynamic batching', () => {
  it('runs jobs of one model submitted together as one batch, fails a bad input alone, and runs a lone job after max_wait_ms', async () => {
    const model = await post('/jobs/training', { model_type: 'random_forest', data_path: 'points.csv', hyperparameters: { target: 'label', n_estimators: 10, random_state: 1 } });
    expect((await until(model, ['succeeded', 'failed'])).status).toBe('succeeded');
    const inputs = [[[0.9, 0.8]], [[0.1, 0.1], [0.5, 0.5]], [[1, 2, 3]], [[0.2, 0.9]]];
    const ids = await Promise.all(inputs.map((rows) => post('/jobs/inference', { model_type: 'random_forest', model_path: model, inputs: rows })));
    const jobs = await Promise.all(ids.map((id) => until(id, ['succeeded', 'failed'])));
    for (const i of [0, 1, 3]) {
      expect(jobs[i].status, JSON.stringify(jobs[i].error)).toBe('succeeded');
      expect(jobs[i].result).toMatchObject({ batch_size: 4, n: inputs[i]!.length });
      expect(jobs[i].attempts).toBe(1);
    }
    expect(jobs[2]).toMatchObject({ status: 'failed', attempts: 1, error: { message: expect.stringContaining('inputs[0] must be') } });
    expect(new Set(jobs.map((j) => j.worker_id)).size).toBe(1);

    const lone = await until(await post('/jobs/inference', { model_type: 'random_forest', model_path: model, inputs: [[0.3, 0.3]] }), ['succeeded', 'failed']);
    expect(lone.status, JSON.stringify(lone.error)).toBe('succeeded');
    expect(lone.result).toMatchObject({ batch_size: 1, model_cached: true });
    expect(Date.parse(lone.finished_at) - Date.parse(lone.started_at)).toBeGreaterThanOrEqual(WAIT_MS - 50);
  });
});
