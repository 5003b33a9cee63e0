import { describe, expect, it } from 'vitest';
import { KilnError } from '../../core/errors';
import { enqueueJob, type EnqueueJobArgs, type EnqueueJobKeys } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = (id: string): EnqueueJobKeys => ({
  job: keys.job(id), queue: keys.queue('node'), notify: keys.notify('node'), all: keys.all(), queued: keys.byStatus('queued'),
  seq: keys.seq(), types: keys.types(), events: keys.events(), idempotency: keys.idempotency('-'),
  workers_of_type: keys.workersOfType('node'), expiring: keys.expiring(),
});
const a = (id: string, over: Partial<EnqueueJobArgs> = {}): EnqueueJobArgs => ({
  job_id: id, worker_type: 'node', kind: 'function', payload: '{"n":1}', now: 1000,
  settings: '{"maxlen":100,"default_max_attempts":3,"default_ttl_ms":0}', options: ['timeout_ms', '60000'], ...over,
});

describe('enqueue-job.lua', () => {
  it('creates the job, queues and indexes it, and wakes the type', async () => {
    expect(await enqueueJob(r.port, k('j1'), a('j1'))).toEqual([1, 1, 'j1', 0]);
    expect(await r.io.hgetall(keys.job('j1'))).toMatchObject({ id: 'j1', status: 'queued', seq: '1', max_attempts: '3', type: 'node' });
    expect(await r.io.zrange(keys.queue('node'), '0', '-1')).toEqual(['j1']);
    expect(await r.io.zrange(keys.byStatus('queued'), '0', '-1')).toEqual(['j1']);
    expect(await r.io.llen(keys.notify('node'))).toBe(1);
    expect(await r.io.xlen(keys.events())).toBe(1);
  });

  it('refuses with KILN error replies mapped to KilnErrors, writing nothing', async () => {
    await enqueueJob(r.port, k('j1'), a('j1'));
    const dup = await enqueueJob(r.port, k('j1'), a('j1')).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(KilnError);
    expect(dup).toMatchObject({ code: 'JOB_EXISTS', status: 409, message: 'a job with id j1 already exists' });
    await r.io.hset(keys.types(), 'node', JSON.stringify({ max_queued: 1, max_timeout_s: 100 }));
    await expect(enqueueJob(r.port, k('j2'), a('j2'))).rejects.toMatchObject({ code: 'QUEUE_FULL', status: 429, headers: { 'retry-after': '5' } });
    await expect(enqueueJob(r.port, k('j3'), a('j3', { options: ['timeout_ms', '101000'] }))).rejects.toMatchObject({ code: 'TIMEOUT_ABOVE_CEILING', message: expect.stringContaining('max_timeout_s 100') });
    await expect(enqueueJob(r.port, k('j4'), a('j4', { worker_type: 'gpu' }))).rejects.toMatchObject({ code: 'UNKNOWN_WORKER_TYPE', status: 400 });
    expect(await r.io.exists(keys.job('j2'), keys.job('j3'), keys.job('j4'))).toBe(0);
    expect(await r.io.get(keys.seq())).toBe('1');
  });

  it('replays an idempotent submit, and refuses the key with another body', async () => {
    const idem = { ...k('j1'), idempotency: keys.idempotency('key-1') };
    const args = a('j1', { options: ['idempotency_ttl_ms', '60000', 'fingerprint', 'f1'] });
    await enqueueJob(r.port, idem, args);
    expect(await enqueueJob(r.port, { ...idem, job: keys.job('j2') }, { ...args, job_id: 'j2' })).toEqual([2, 0, 'j1']);
    await expect(enqueueJob(r.port, idem, { ...args, options: ['idempotency_ttl_ms', '60000', 'fingerprint', 'f2'] })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
  });

  it('takes the job\'s own settings from the options, the rest from their defaults', async () => {
    await enqueueJob(r.port, k('j1'), a('j1', { options: [] }));
    expect(await r.io.hgetall(keys.job('j1'))).toMatchObject({ priority: '0', timeout_ms: '0', max_attempts: '3', backoff: '' });
    const own = ['priority', '5', 'max_attempts', '7', 'timeout_ms', '2500', 'backoff', '{"delay_ms":10}', 'ttl_ms', '60000'];
    await enqueueJob(r.port, k('j2'), a('j2', { options: own }));
    expect(await r.io.hgetall(keys.job('j2'))).toMatchObject({ priority: '5', timeout_ms: '2500', max_attempts: '7', backoff: '{"delay_ms":10}', expires_at: '61000' });
    // higher priority first
    expect(await r.io.zrange(keys.queue('node'), '0', '-1')).toEqual(['j2', 'j1']);
    expect(await r.io.zscore(keys.expiring(), 'j2')).toBe('61000');
    // a custom type is refused while the registry lacks it; a default one is not
    await expect(enqueueJob(r.port, k('j3'), a('j3', { options: ['type_check', 'custom'] }))).rejects.toMatchObject({ code: 'UNKNOWN_WORKER_TYPE' });
    // the settings' default queued TTL and queue cap
    await enqueueJob(r.port, k('j4'), a('j4', { settings: '{"maxlen":100,"default_max_attempts":3,"default_ttl_ms":5000,"default_max_queued":3}' }));
    expect(await r.io.hget(keys.job('j4'), 'expires_at')).toBe('6000');
    await expect(enqueueJob(r.port, k('j5'), a('j5', { settings: '{"maxlen":100,"default_max_attempts":3,"default_ttl_ms":0,"default_max_queued":3}' })))
      .rejects.toMatchObject({ code: 'QUEUE_FULL' });
  });

  it('keeps at most 1000 wake-up tokens per type', async () => {
    await r.io.lpush(keys.notify('node'), ...Array.from({ length: 1000 }, () => '1'));
    await enqueueJob(r.port, k('j1'), a('j1'));
    expect(await r.io.llen(keys.notify('node'))).toBe(1000);
  });
});
