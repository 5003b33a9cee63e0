/**
 * Whole-process faults: the spawner SIGKILLed with jobs running, and Redis
 * restarted under load. Nothing may be lost and no process left behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../spawner/launcher';
import { createTestApi, waitFor } from './helpers/api';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { spawnerEnv, startSpawnerProcess } from './helpers/spawner-process';
import { startSystem } from './helpers/system';

const FUNCTIONS = join(import.meta.dirname, 'fixtures', 'functions.mjs');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('the spawner is SIGKILLed', () => {
  it('leaves no worker or grandchild behind, and after a restart every job finishes', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const stateDir = mkdtempSync(join(tmpdir(), 'kiln-faults-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const env = await spawnerEnv({
      redisUrl: redis.url, prefix: 'crash', stateDir,
      types: { node: { framework: 'node', version: '20', max_jobs: 2, max_workers: 3, idle_timeout: 60 } },
      extra: { KILN_FUNCTIONS_MODULE: FUNCTIONS },
    });
    let spawner = await startSpawnerProcess(env);
    cleanups.push(() => spawner.kill('SIGKILL'));
    const client = redis.client();
    const api = createTestApi({ redis: client, prefix: 'crash', spawnerUrl: spawner.url, token: spawner.token });

    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await api.request('POST', '/jobs', { function: 'grandchildAndWait', input: { ms: 1500 } })).body.job_id);
    for (let i = 0; i < 6; i++) ids.push((await api.request('POST', '/jobs', { function: 'sleep', input: { ms: 300 } })).body.job_id);
    // wait until the grandchildren exist
    const grandchildren = await waitFor('grandchildren to start', async () => {
      const jobs = await Promise.all(ids.slice(0, 4).map((id) => api.job(id)));
      const pids = jobs.map((j) => /grandchild (\d+)/.exec(j.progress_message ?? '')?.[1]).filter(Boolean).map(Number);
      return pids.length >= 2 && pids;
    });
    const status = (await api.request('GET', '/workers/status')).body;
    const workerPids = Object.values(status.worker_details).map((w: any) => w.process_id as number);
    expect(workerPids.length).toBeGreaterThan(0);

    await spawner.kill('SIGKILL');
    // every process the spawner started goes within 5 s of its death (no orphan)
    const deadline = Date.now() + 5000;
    while ([...workerPids, ...grandchildren].some(pidAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const pid of [...workerPids, ...grandchildren]) expect(pidAlive(pid), `pid ${pid} outlived the spawner`).toBe(false);

    spawner = await startSpawnerProcess(env);
    for (const id of ids) {
      const j = await waitFor(`job ${id} to finish after the restart`, async () => {
        const x = await api.job(id);
        return ['succeeded', 'failed'].includes(x.status) && x;
      }, 30_000, () => spawner.log);
      expect(j.status).toBe('succeeded');
    }
    await spawner.kill('SIGTERM');
  });
});

describe('redis-server restarts under load', () => {
  it('every job whose submit was answered 202 finishes', async () => {
    const redis: RedisServer = await startRedis({ appendonly: true });
    cleanups.push(() => redis.stop());
    const sys = await startSystem(redis, {
      types: { node: { framework: 'node', version: '20', max_jobs: 4, max_workers: 2, idle_timeout: 60 } },
    });
    cleanups.push(() => sys.stop());
    const accepted: string[] = [];
    let refused = 0;
    let restarted = false;
    const deadline = Date.now() + 3000;
    const submitter = async () => {
      while (Date.now() < deadline) {
        try {
          const r = await sys.request('POST', '/jobs', { function: 'sleep', input: { ms: 20 } });
          if (r.status === 202) accepted.push(r.body.job_id);
          else refused++;
        } catch {
          refused++;
        }
      }
    };
    const restarter = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await redis.restart();
      restarted = true;
    })();
    await Promise.all([submitter(), submitter(), submitter(), restarter]);
    expect(restarted).toBe(true);
    expect(accepted.length).toBeGreaterThan(20);
    const unfinished = await waitFor('every accepted job to succeed', async () => {
      const pending: string[] = [];
      for (const id of accepted) {
        const j = await sys.job(id);
        if (j.status !== 'succeeded') pending.push(`${id}:${j.status ?? j.error?.code}`);
      }
      return pending.length === 0 ? ([] as string[]) : false;
    }, 45_000, () => sys.logs).catch((err: Error) => err.message);
    expect(unfinished, `refused during the restart: ${refused}`).toEqual([]);
  });
});
