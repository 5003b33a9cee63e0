/**
 * The job store's scripts on a three-master Redis Cluster: each script runs on the node
 * that owns the slot of its KEYS, and Redis refuses a key of another slot, so a script
 * that touched a key it did not declare (outside its prefix's `{…}` hash tag) fails here.
 */
import { jobRecordSettings } from '../../core/config';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIoredisPort } from '../../core/ioredis-port';
import { createJobStore, type JobStore } from '../../core/job-store';
import { createKeys, type Keys } from '../../core/keys';
import { createWorkerStore } from '../../core/worker-store';
import { eventsTail, probeWrite, readJobLogs, appendLogs, countLogDrops, replaceTypeEntry } from '../../core/lua/contracts';
import { newJob } from '../helpers/lua-redis';
import { type RedisCluster, startRedisCluster } from '../helpers/redis-cluster';

let cluster: RedisCluster;
let io: Cluster;
let n = 0;
const fresh = (): { keys: Keys; store: JobStore } => {
  const keys = createKeys(`c${++n}`); // its own hash slot per test
  return { keys, store: createJobStore(createIoredisPort(io), { keys, ...jobRecordSettings({}), failedRetentionMs: 60_000 }) };
};

beforeAll(async () => {
  cluster = await startRedisCluster();
  io = cluster.client();
});
afterAll(async () => cluster?.stop());

describe('job store scripts on a Redis Cluster', () => {
  it('the guard: a script that touches a key it did not declare, held by another node, is refused', async () => {
    // the node that owns a slot, from CLUSTER SLOTS: [[from, to, [host, port, id], …], …]
    const ranges = await io.cluster('SLOTS');
    const owner = async (key: string) => {
      const slot = Number(await io.cluster('KEYSLOT', key));
      return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
    };
    let foreign = '';
    for (let i = 0; !foreign; i++) if ((await owner(`{x${i}}:k`)) !== (await owner('{c0}:declared'))) foreign = `{x${i}}:k`;
    const bad = `redis.call('SET', KEYS[1], '1'); return redis.call('SET', '${foreign}', '1')`;
    await expect(io.eval(bad, 1, '{c0}:declared')).rejects.toThrow(/non local key|do not hash to the same slot/);
    // the same script declaring the key is routed and accepted … when its keys share a slot
    const good = "redis.call('SET', KEYS[1], '1'); return redis.call('SET', KEYS[2], '1')";
    await expect(io.eval(good, 2, '{c0}:declared', foreign)).rejects.toThrow(/CROSSSLOT/);
    expect(await io.eval(good, 2, '{c0}:declared', '{c0}:derived')).toBe('OK');
  });

  it('enqueue, claim, progress, complete and claim-next, list, type counts', async () => {
    const { keys, store } = fresh();
    await io.hset(keys.types(), 'node', '{}');
    expect(await store.enqueue(newJob('j1'))).toMatchObject({ created: true });
    await store.enqueue(newJob('j2'));
    await expect(store.enqueue(newJob('j1'))).rejects.toMatchObject({ code: 'JOB_EXISTS' });
    const [claimed] = await store.claim('node', 'w1', 2000);
    expect(claimed).toMatchObject({ id: 'j1', status: 'running' });
    expect(await store.progress('j1', 'w1', [{ ts: 2100, progress: 0.5, message: 'half' }], 2100)).toBe(true);
    expect(await store.typeCounts()).toEqual({ node: { queued: 1, running: 0, delayed: 0 } }); // w1 is not in the type's set
    const done = await store.completeAndClaim('j1', 'node', 'w1', { ok: 1 }, 3000, 1);
    expect(done.recorded).toBe(true);
    expect(done.next.map((j) => j.id)).toEqual(['j2']);
    expect((await store.list({ limit: 10 })).jobs.map((j) => j.id)).toEqual(['j2', 'j1']);
    // several finished jobs at once (complete-jobs.lua: job, log and progress keys derived)
    await store.enqueue(newJob('j3'));
    const many = await store.completeManyAndClaim('node', 'w1', [{ id: 'j2', result: 2 }, { id: 'j1', result: 1 }], 4000, 1);
    expect(many.recorded).toEqual([true, false]);
    expect(many.next.map((j) => j.id)).toEqual(['j3']);
  });

  it('fail with backoff, promote-delayed, cancel, expire', async () => {
    const { keys, store } = fresh();
    await store.enqueue(newJob('j1'));
    await store.claim('node', 'w1', 2000);
    expect(await store.fail('j1', 'node', 'w1', { type: 'handler_error', message: 'x' }, { retryable: true, backoffMs: 100, now: 2000 })).toBe('delayed');
    expect(await store.promoteDelayed(2200)).toBe(1);
    expect(await store.cancel({ id: 'j1', type: 'node' }, 'test', 2300)).toEqual({ outcome: 'cancelled' });
    await store.enqueue(newJob('j2', { queuedTtlMs: 10 }));
    expect(await store.expireQueued(5000)).toEqual([{ id: 'j2', type: 'node' }]);
    expect(await io.hget(keys.job('j2'), 'status')).toBe('expired');
  });

  it('reserve a worker, then requeue its jobs when it is gone', async () => {
    const { keys, store } = fresh();
    await store.enqueue(newJob('j1'));
    const workers = createWorkerStore(createIoredisPort(io), { keys });
    expect(await workers.reserve({ id: 'w1', type: 'node', maxJobs: 1, host: 'h', now: 1000, leaseMs: 10_000 })).toBe(true);
    await store.claim('node', 'w1', 2000);
    expect(await store.requeueWorker('w1', 'node', { type: 'worker_lost', message: 'gone' }, { now: 3000 })).toEqual({ requeued: 1, failed: 0 });
    expect(await workers.forget({ id: 'w1', type: 'node' })).toBe(true);
    expect(await io.hget(keys.job('j1'), 'status')).toBe('queued');
    expect(await io.exists(keys.worker('w1'))).toBe(0);
  });

  it('the log, event, probe and registry scripts', async () => {
    const { keys } = fresh();
    const port = createIoredisPort(io);
    await io.hset(keys.job('j1'), 'status', 'running');
    expect(await appendLogs(port, { logs: keys.logs('j1'), job: keys.job('j1') }, { max_lines: 10, max_bytes: 100, safety_ttl_ms: 1000, lines: ['stdout', 'a'] })).toEqual([1, 0]);
    expect(await readJobLogs(port, { job: keys.job('j1'), logs: keys.logs('j1') }, { after: '0-0', count: 0 })).toEqual(['running', '0']);
    expect(await countLogDrops(port, { worker: keys.worker('w1') }, { dropped: 1 })).toBe(0);
    expect(await eventsTail(port, { stream: keys.events() }, {})).toBe('0-0');
    expect(await probeWrite(port, { probe: keys.healthProbe() }, { value: 1, ttl_ms: 1000 })).toBe(1);
    expect(await replaceTypeEntry(port, { types: keys.types() }, { type: 'node', read: 'x', cleaned: 'y' })).toBe(0);
  });

  it('model affinity: advertised models, a claim that leaves a job to its holder (waking it), cleanup when the worker goes', async () => {
    const { keys } = fresh();
    const store = createJobStore(createIoredisPort(io), { keys, ...jobRecordSettings({}), affinityWaitMs: 100 });
    for (const w of ['w1', 'w2']) await io.hset(keys.worker(w), 'status', 'idle', 'worker_type', 'node');
    expect(await store.setWorkerModels('w1', ['m1'])).toBe(1);
    await store.enqueue(newJob('i1', { kind: 'inference', payload: { model_path: 'm1' } }));
    const none = await store.claim('node', 'w2', 1010, 1);
    expect(none.retryMs).toBe(90);
    expect(await io.llen(keys.workerNotify('w1'))).toBe(1);
    expect((await store.completeManyAndClaim('node', 'w1', [], 1020, 1)).next.map((j) => j.id)).toEqual(['i1']);
    await store.requeueWorker('w1', 'node', { type: 'worker_lost', message: 'gone' }, { now: 3000 });
    expect(await io.exists(`${keys.modelHolders}m1`)).toBe(0);
  });
});
