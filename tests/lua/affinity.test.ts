/**
 * Model affinity in the claim scripts (core/lua/_claim.lua), the advertised models
 * (set-worker-models.lua) and their cleanup when a worker goes (requeue-worker-jobs.lua).
 */
import { describe, expect, it } from 'vitest';
import { jobRecordSettings } from '../../core/config';
import { createJobStore, type JobStore } from '../../core/job-store';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const WAIT = 100;
const affine = (): JobStore => createJobStore(r.port, { keys, ...jobRecordSettings({}), affinityWaitMs: WAIT });
const inference = (id: string, model: string, now = 1000) =>
  newJob(id, { type: 'sk', kind: 'inference', payload: { model_path: model, model_type: 'x', input: [1] }, now });
const worker = (id: string, status = 'idle') => r.io.hset(keys.worker(id), 'status', status, 'worker_type', 'sk');

describe('model affinity', () => {
  it('enqueue records the model of an inference job only', async () => {
    await r.store.enqueue(inference('i1', 'train-1'));
    await r.store.enqueue(newJob('f1', { payload: { model_path: 'train-1' } }));
    expect(await r.io.hget(keys.job('i1'), 'model')).toBe('train-1');
    expect(await r.io.hget(keys.job('f1'), 'model')).toBeNull();
  });

  it('set-worker-models keeps the worker set and the holder sets exact; a gone or exited worker holds nothing', async () => {
    await worker('w1');
    expect(await r.store.setWorkerModels('w1', ['m1', 'm2'])).toBe(2);
    expect((await r.io.smembers(keys.workerModels('w1'))).sort()).toEqual(['m1', 'm2']);
    expect(await r.store.setWorkerModels('w1', ['m2', 'm3'])).toBe(2);
    expect(await r.io.smembers(`${keys.modelHolders}m1`)).toEqual([]);
    expect(await r.io.smembers(`${keys.modelHolders}m3`)).toEqual(['w1']);
    await r.io.hset(keys.worker('w1'), 'status', 'exited');
    expect(await r.store.setWorkerModels('w1', ['m4'])).toBe(0);
    expect(await r.io.exists(keys.workerModels('w1'), `${keys.modelHolders}m3`, `${keys.modelHolders}m4`)).toBe(0);
    expect(await r.store.setWorkerModels('nobody', ['m1'])).toBe(0);
    expect(await r.io.exists(`${keys.modelHolders}m1`)).toBe(0);
  });

  it('a worker takes the jobs of the models it holds first', async () => {
    const store = affine();
    await worker('w1');
    await store.setWorkerModels('w1', ['m1']);
    for (const [id, m] of [['a', 'm2'], ['b', 'm1'], ['c', 'm3'], ['d', 'm1']] as const) await store.enqueue(inference(id, m));
    expect((await store.claim('sk', 'w1', 1010, 3)).map((j) => j.id)).toEqual(['b', 'd', 'a']);
    // priority first: a higher-priority job goes before the worker's own models' jobs
    await store.enqueue({ ...inference('e', 'm1'), priority: 0 });
    await store.enqueue({ ...inference('urgent', 'm9'), priority: 5 });
    expect((await store.claim('sk', 'w1', 1010, 2)).map((j) => j.id)).toEqual(['urgent', 'e']);
    // without affinity the same queue goes in priority order
    await r.io.flushall();
    await worker('w1');
    await r.store.setWorkerModels('w1', ['m1']);
    for (const [id, m] of [['a', 'm2'], ['b', 'm1']] as const) await r.store.enqueue(inference(id, m));
    expect((await r.store.claim('sk', 'w1', 1010, 1)).map((j) => j.id)).toEqual(['a']);
  });

  it("leaves a job to a live worker holding its model for affinity_wait_ms (waking it), then anyone takes it", async () => {
    const store = affine();
    await worker('w1', 'busy');
    await worker('w2');
    await store.setWorkerModels('w1', ['m1']);
    await store.enqueue(inference('a', 'm1', 1000));
    await store.enqueue(newJob('t', { type: 'sk', kind: 'training', now: 1000 }));
    const first = await store.claim('sk', 'w2', 1030, 2);
    expect(first.map((j) => j.id)).toEqual(['t']); // the training job, not the one left to w1
    expect(first.retryMs).toBe(WAIT - 30);
    expect(await r.io.llen(keys.workerNotify('w1'))).toBe(0); // w1 is busy: it takes it when it frees up
    await r.io.hset(keys.worker('w1'), 'status', 'idle');
    const none = await store.claim('sk', 'w2', 1050, 1);
    expect(none.map((j) => j.id)).toEqual([]);
    expect(none.retryMs).toBe(WAIT - 50);
    expect(await r.io.llen(keys.workerNotify('w1'))).toBe(1); // an idle holder is woken on its own list
    expect(await r.io.exists(keys.notify('sk'))).toBe(0); // nothing left that w2 may take: no wake-ups for it
    // past the wait anyone takes it
    expect((await store.claim('sk', 'w2', 1000 + WAIT, 1)).map((j) => j.id)).toEqual(['a']);
  });

  it('the holder itself takes it at once; a draining or gone holder, or another type, reserves nothing', async () => {
    const store = affine();
    await worker('w1');
    await worker('w2');
    await store.setWorkerModels('w1', ['m1']);
    await store.enqueue(inference('a', 'm1', 1000));
    expect((await store.claim('sk', 'w1', 1001, 1)).map((j) => j.id)).toEqual(['a']);
    for (const change of [
      () => r.io.hset(keys.worker('w1'), 'status', 'draining'),
      () => r.io.hset(keys.worker('w1'), 'status', 'idle', 'worker_type', 'other'),
      () => r.io.del(keys.worker('w1')),
    ]) {
      await change();
      await store.enqueue(inference(`j${Math.random()}`, 'm1', 1000));
      const got = await store.claim('sk', 'w2', 1001, 1);
      expect(got).toHaveLength(1);
      expect(got.retryMs).toBeUndefined();
    }
    expect(await r.io.smembers(`${keys.modelHolders}m1`)).toEqual([]); // the gone holder was dropped
  });

  it('no starvation: a job waiting past the bound goes before the jobs of the models a worker holds', async () => {
    const store = affine();
    await worker('w1');
    await store.setWorkerModels('w1', ['m1']);
    await store.enqueue(inference('old', 'm2', 1000));
    await store.enqueue(inference('mine', 'm1', 3000));
    expect((await store.claim('sk', 'w1', 1000 + 20 * WAIT, 1)).map((j) => j.id)).toEqual(['old']);
  });

  it('complete-jobs claims the next jobs with affinity too', async () => {
    const store = affine();
    await worker('w1');
    await store.setWorkerModels('w1', ['m1']);
    await store.enqueue(inference('a', 'm2'));
    await store.enqueue(inference('b', 'm1'));
    await store.enqueue(inference('c', 'm1'));
    await store.claim('sk', 'w1', 1001, 1);
    const r2 = await store.completeManyAndClaim('sk', 'w1', [{ id: 'b', result: 1 }], 1002, 1);
    expect(r2.next.map((j) => j.id)).toEqual(['c']);
  });

  it("requeue-worker-jobs clears the gone worker's models, holder entries and own wake-ups", async () => {
    await worker('w1');
    await r.store.setWorkerModels('w1', ['m1', 'm2']);
    await r.io.lpush(keys.workerNotify('w1'), '1');
    await r.store.requeueWorker('w1', 'sk', { type: 'worker_lost', message: 'gone' }, { now: 2000 });
    expect(await r.io.exists(keys.workerModels('w1'), keys.workerNotify('w1'), `${keys.modelHolders}m1`, `${keys.modelHolders}m2`)).toBe(0);
  });
});
