import { describe, expect, it } from 'vitest';
import { reportOutputs, type ReportOutputsKeys } from '../../core/lua/contracts';
import { keys, newJob, useLuaRedis } from '../helpers/lua-redis';

const r = useLuaRedis();
const k: ReportOutputsKeys = { active: keys.active('w1'), events: keys.events() };
const a = (outputs: string[], first_seq = 0) => ({ job_id: 'j1', now: 3000, maxlen: 100, attempt: 1, first_seq, outputs });

describe('report-outputs.lua', () => {
  it('appends each output as its own events entry, in order, numbered from first_seq', async () => {
    await r.store.enqueue(newJob('j1'));
    await r.store.claim('node', 'w1', 2000);
    const before = await r.io.xlen(keys.events());
    expect(await reportOutputs(r.port, k, a(['"a"', '{"b":2}'], 3))).toBe(1);
    const entries = (await r.io.xrange(keys.events(), '-', '+')).slice(before);
    expect(entries.map(([, f]) => f)).toEqual([
      ['job', 'j1', 'output', '"a"', 'seq', '3', 'attempt', '1', 'ts', '3000'],
      ['job', 'j1', 'output', '{"b":2}', 'seq', '4', 'attempt', '1', 'ts', '3000'],
    ]);
  });

  it('answers 0 and appends nothing when the worker no longer holds the job', async () => {
    await r.store.enqueue(newJob('j1'));
    const before = await r.io.xlen(keys.events());
    expect(await reportOutputs(r.port, k, a(['1']))).toBe(0);
    expect(await r.io.xlen(keys.events())).toBe(before);
  });
});
