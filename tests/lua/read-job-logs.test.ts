import { describe, expect, it } from 'vitest';
import { readJobLogs } from '../../core/lua/contracts';
import { keys, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k = { job: keys.job('j1'), logs: keys.logs('j1') };

describe('read-job-logs.lua', () => {
  it("pages a job's lines with its status and cut count; {} for a missing job", async () => {
    expect(await readJobLogs(r.port, k, { after: '0-0', count: 10 })).toEqual([]);
    await r.io.hset(keys.job('j1'), 'status', 'running', 'log_cut', '2');
    await r.io.xadd(keys.logs('j1'), '1-1', 's', 'stdout', 't', 'a');
    await r.io.xadd(keys.logs('j1'), '1-2', 's', 'stderr', 't', 'b');
    expect(await readJobLogs(r.port, k, { after: '0-0', count: 1 })).toEqual(['running', '2', ['1-1', ['s', 'stdout', 't', 'a']]]);
    expect(await readJobLogs(r.port, k, { after: '1-1', count: 10 })).toEqual(['running', '2', ['1-2', ['s', 'stderr', 't', 'b']]]);
    expect(await readJobLogs(r.port, k, { after: '0-0', count: 0 })).toEqual(['running', '2']);
  });
});
