import { describe, expect, it } from 'vitest';
import { typeCounts } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();

describe('type-counts.lua', () => {
  it('counts queued, running (held by the type’s workers) and delayed jobs per registered type', async () => {
    await r.io.hset(keys.types(), 'node', '{}', 'gpu', '{}');
    for (const id of ['j1', 'j2', 'j3']) await r.store.enqueue(newJob(id));
    await r.store.claim('node', 'w1', 2000, 2);
    await r.io.sadd(keys.workersOfType('node'), 'w1');
    await r.store.fail('j1', 'node', 'w1', { type: 'handler_error', message: 'x' }, { retryable: true, backoffMs: 1000, now: 2000 });
    const flat = await typeCounts(r.port, { types: keys.types(), delayed: keys.delayed() }, {
      queue_prefix: keys.queue(''), workers_of_type_prefix: keys.workersOfType(''), active_prefix: keys.active(''), job_prefix: keys.jobPrefix, delayed_limit: 100,
    });
    const rows = Object.fromEntries(Array.from({ length: (flat as unknown[]).length / 4 }, (_, i) => {
      const [t, ...n] = (flat as unknown[]).slice(i * 4, i * 4 + 4);
      return [t, n];
    }));
    expect(rows).toEqual({ node: [1, 1, 1], gpu: [0, 0, 0] });
  });
});
