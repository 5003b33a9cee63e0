import { describe, expect, it } from 'vitest';
import { listJobs } from '../../core/lua/contracts';
import { flatToRecord } from '../../core/redis-port';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const page = (cursor: string, limit: number, type = '') => listJobs(r.port, { index: keys.all() }, { cursor, limit, type, job_prefix: keys.jobPrefix }) as Promise<unknown[]>;

describe('list-jobs.lua', () => {
  it('pages newest first, filters by type, and unindexes jobs that expired', async () => {
    for (const id of ['j1', 'j2', 'j3']) await r.store.enqueue(newJob(id));
    await r.store.enqueue(newJob('g1', { type: 'gpu' }));
    await r.io.del(keys.job('j2'));
    const [cursor, ...rows] = await page('+inf', 2);
    expect(rows.map((row) => flatToRecord(row).id)).toEqual(['g1', 'j3']);
    const [end, ...rest] = await page(String(cursor), 2);
    expect(rest.map((row) => flatToRecord(row).id)).toEqual(['j1']);
    expect(end).toBe(''); // no more pages
    expect(await r.io.zscore(keys.all(), 'j2')).toBeNull();
    expect((await page('+inf', 10, 'gpu')).slice(1).map((row) => flatToRecord(row).id)).toEqual(['g1']);
  });
});
