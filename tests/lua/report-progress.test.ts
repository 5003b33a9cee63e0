import { describe, expect, it } from 'vitest';
import { reportProgress, type ReportProgressKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: ReportProgressKeys = { job: keys.job('j1'), active: keys.active('w1'), events: keys.events(), progress: keys.progressHistory('j1') };
const a = (points: (string | number)[], cap = 100) => ({ job_id: 'j1', now: 3000, maxlen: 100, cap, points });

describe('report-progress.lua', () => {
  it('records the newest point on the job and every point in its history', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.store.claim('node', 'w1', 2000);
    expect(await reportProgress(r.port, k, a([2100, 0.25, 'a', '', 2200, 0.5, 'b', '{"loss":1}']))).toBe(1);
    expect(await r.io.hgetall(keys.job('j1'))).toMatchObject({ progress: '0.5', progress_message: 'b', progress_metrics: '{"loss":1}', history_points: '2' });
    expect(await r.io.xlen(keys.progressHistory('j1'))).toBe(2);
  });

  it('thins the history to the cap', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.store.claim('node', 'w1', 2000);
    const points = Array.from({ length: 9 }, (_, i) => [2000 + i, i / 10, '', '']).flat();
    await reportProgress(r.port, k, a(points, 4));
    expect(await r.io.xlen(keys.progressHistory('j1'))).toBeLessThanOrEqual(4);
    expect(await r.io.hget(keys.job('j1'), 'history_points')).toBe('9');
  });

  it('answers 0 when the worker no longer holds the job', async () => {
    await r.store.enqueue(newJob('j1'));
    expect(await reportProgress(r.port, k, a([2100, 0.5, '', '']))).toBe(0);
    expect(await r.io.hget(keys.job('j1'), 'progress')).toBe('0');
  });
});
