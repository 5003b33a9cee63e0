import { describe, expect, it } from 'vitest';
import { workerTransition, type WorkerTransitionArgs, type WorkerTransitionKeys } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: WorkerTransitionKeys = { worker: keys.worker('w1'), lease: keys.lease('w1'), workers: keys.workers(), of_type: keys.workersOfType('node') };
const a = (over: Partial<WorkerTransitionArgs>): WorkerTransitionArgs => ({
  id: 'w1', to: '', allowed: 'none', lease_ms: '', lease_value: '', ttl_ms: '', fields: [], ...over,
});

describe('worker-transition.lua', () => {
  it('registers (none → starting) with its sets and lease, then moves only from an allowed status', async () => {
    expect(await workerTransition(r.port, k, a({ to: 'starting', lease_ms: 10_000, lease_value: 1000, fields: ['worker_type', 'node'] }))).toEqual([1, 'none']);
    expect(await r.io.hgetall(keys.worker('w1'))).toEqual({ status: 'starting', worker_type: 'node' });
    expect(await r.io.sismember(keys.workers(), 'w1')).toBe(1);
    expect(await r.io.sismember(keys.workersOfType('node'), 'w1')).toBe(1);
    expect(await r.io.pttl(keys.lease('w1'))).toBeGreaterThan(0);
    // refused: the record is starting, and the caller allows only idle
    expect(await workerTransition(r.port, k, a({ to: 'busy', allowed: 'idle' }))).toEqual([0, 'starting']);
    expect(await r.io.hget(keys.worker('w1'), 'status')).toBe('starting');
    expect(await workerTransition(r.port, k, a({ to: 'idle', allowed: 'starting' }))).toEqual([1, 'starting']);
  });

  it('exited keeps the record for ttl_ms, leaves the sets and drops the lease; a later heartbeat is refused', async () => {
    await workerTransition(r.port, k, a({ to: 'starting', lease_ms: 10_000, lease_value: 1 }));
    expect(await workerTransition(r.port, k, a({ to: 'exited', allowed: 'starting,idle', ttl_ms: 60_000, fields: ['exit_reason', 'crashed'] }))).toEqual([1, 'starting']);
    expect(await r.io.hget(keys.worker('w1'), 'exit_reason')).toBe('crashed');
    expect(await r.io.pttl(keys.worker('w1'))).toBeGreaterThan(0);
    expect(await r.io.exists(keys.lease('w1'))).toBe(0);
    expect(await r.io.scard(keys.workers())).toBe(0);
    expect(await workerTransition(r.port, k, a({ allowed: 'starting,idle,busy', lease_ms: 10_000, lease_value: 2, fields: ['last_heartbeat', 2] }))).toEqual([0, 'exited']);
    expect(await r.io.exists(keys.lease('w1'))).toBe(0);
  });

  it("to 'none' (forget) drops the record, its lease and its set entries", async () => {
    await workerTransition(r.port, k, a({ to: 'starting', lease_ms: 10_000, lease_value: 1 }));
    expect(await workerTransition(r.port, k, a({ to: 'none', allowed: 'starting' }))).toEqual([1, 'starting']);
    expect(await r.io.exists(keys.worker('w1'), keys.lease('w1'))).toBe(0);
    expect(await r.io.sismember(keys.workersOfType('node'), 'w1')).toBe(0);
  });
});
