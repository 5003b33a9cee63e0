/**
 * A type's waiting reason lasts as long as its cause: taken back when the work it held
 * is gone, and by a restarted spawner that published it before it stopped uncleanly.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../core/keys';
import { createTypeReasons } from '../spawner/type-reasons';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

let redis: RedisServer;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});

afterAll(async () => {
  await redis?.stop();
});

describe('type-state after a restart', () => {
  it('a restarted host takes back the reason its predecessor published; another host keeps its own', async () => {
    const keys = createKeys('restart');
    const read = async () => [await client.hgetall(keys.typeState()), await client.hgetall(keys.typeStateHosts())] as const;
    const before = createTypeReasons({ redis: client, keys, hostId: 'h1' });
    const other = createTypeReasons({ redis: client, keys, hostId: 'h2' });
    await before.publish(...(await read()), new Map([['broken', 'type errored: spawn python ENOENT (1 in a row; next start in 1.0 s)']]));
    await other.publish(...(await read()), new Map([['gpu', 'no free GPU']]));
    expect((await read())[0]).toEqual({ broken: 'type errored: spawn python ENOENT (1 in a row; next start in 1.0 s)', gpu: 'no free GPU' });

    // h1 dies without clearing; its successor (same host id, fixed config) has no reason for either type
    const after = createTypeReasons({ redis: client, keys, hostId: 'h1' });
    await after.publish(...(await read()), new Map([['broken', null], ['gpu', null]]));
    expect(await read()).toEqual([{ gpu: 'no free GPU' }, { gpu: 'h2' }]);
  });
});

describe('type-state after the work is gone', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem(redis, {
      types: { broken: { framework: 'sklearn', version: '1.2', python: '/nonexistent/python3', max_jobs: 1, max_workers: 1 } },
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('cancelling the only queued job of an errored type clears its error and countdown', async () => {
    const r = await sys.request('POST', '/jobs', { worker_type: 'broken', payload: {} });
    expect(r.status).toBe(202);
    const state = await sys.waitFor('the type to be errored', async () => (await sys.request('GET', '/workers/status')).body.type_state?.broken);
    expect(state).toMatch(/^type errored: .*next start in/);
    expect((await sys.request('POST', `/jobs/${r.body.job_id}/cancel`)).status).toBeLessThan(300);
    await sys.waitFor('the errored state to clear', async () => {
      const s = (await sys.request('GET', '/workers/status')).body;
      return s.type_state?.broken === undefined && s.types.broken.waiting_reason === null;
    });
  });
});
