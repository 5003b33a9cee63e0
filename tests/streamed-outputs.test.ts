/**
 * Streamed outputs: what a generator handler yields arrives as `output` events on
 * GET /jobs/:id/events, in order, before the job's end; the result is the generator's
 * return value, or the list of its yields. Node (async and sync generator functions)
 * and Python (a generator handler, ctx.output) workers, real processes and Redis.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse } from './contract/suite';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const PY = '/usr/bin/python3';
const FIXTURES = join(import.meta.dirname, 'fixtures');
const FAKE = join(FIXTURES, 'fake_framework');

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', idle_timeout: 60, max_jobs: 4, max_workers: 1 },
      fake: { framework: 'fake', version: '0.1.0', python: PY, python_path: [FAKE], max_jobs: 1, max_workers: 1, idle_timeout: 60 },
    },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'stream-functions.mjs'), KILN_HANDLERS_DIR: join(FAKE, 'handlers') },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

/**
 * Submits, follows the job's events from while it is queued or running, and returns them with the ended job.
 * The handlers pace their yields (≥ 0.5 s in all) so the stream is opened before the job ends: a stream opened
 * after the end replays no outputs (the result has them).
 */
async function follow(body: Record<string, unknown>) {
  const r = await sys.request('POST', '/jobs', body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const res = await sys.api.request(`/jobs/${r.body.job_id}/events`);
  const events = parseSse(await res.text());
  return { events, outputs: events.filter((e) => e.event === 'output').map((e) => e.data), job: await sys.job(r.body.job_id) };
}

describe('streamed outputs', () => {
  it('a Node async generator: each yield is an output event, in order, before end; the result is its return value', async () => {
    const { events, outputs, job } = await follow({ function: 'countdown', input: { from: 5, ms: 100 } });
    expect(outputs.map((o) => o.output)).toEqual([5, 4, 3, 2, 1].map((left) => ({ left })));
    expect(outputs.map((o) => o.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(outputs.map((o) => o.attempt)).toEqual([1, 1, 1, 1, 1]);
    for (const o of outputs) {
      expect(o.job_id).toBe(job.job_id);
      expect(new Date(o.ts).toISOString()).toBe(o.ts);
    }
    const names = events.map((e) => e.event);
    expect(names.lastIndexOf('output')).toBeLessThan(names.indexOf('end'));
    expect(job).toMatchObject({ status: 'succeeded', result: { liftoff: true } });
  });

  it('the built-in stream function (word by word) and a sync generator: the result is the list of yields', async () => {
    const words = await follow({ function: 'stream', input: { text: 'the quick brown fox jumps', ms: 100 } });
    expect(words.outputs.map((o) => o.output)).toEqual(['the', 'quick', 'brown', 'fox', 'jumps']);
    expect(words.job.result).toEqual(['the', 'quick', 'brown', 'fox', 'jumps']);
    const r = await sys.request('POST', '/jobs?wait=20', { function: 'items', input: { items: [1, 'two', { three: 3 }, null] } });
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual([1, 'two', { three: 3 }, null]);
  });

  it('a Node generator that yields a value that is not JSON fails its job, after the outputs before it; each attempt streams again', async () => {
    const { outputs, job } = await follow({ function: 'badValue', max_attempts: 2 });
    expect(outputs.map((o) => [o.attempt, o.seq, o.output])).toEqual([[1, 0, 'fine'], [2, 0, 'fine']]);
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/BigInt/);
  });

  it('a Python generator handler: each yield is an output event, in order; the result is the list of yields', async () => {
    const tokens = ['Once', ' upon', ' a', ' time', ' …'];
    const { events, outputs, job } = await follow({ worker_type: 'fake', payload: { handler: 'stream', tokens, sleep_s: 0.1 } });
    expect(outputs.map((o) => o.output)).toEqual(tokens);
    expect(outputs.map((o) => o.seq)).toEqual([0, 1, 2, 3, 4]);
    const names = events.map((e) => e.event);
    expect(names.lastIndexOf('output')).toBeLessThan(names.indexOf('end'));
    expect(job).toMatchObject({ status: 'succeeded', result: tokens });
  });

  it('a Python async generator handler streams too; its result is the list of yields', async () => {
    const { outputs, job } = await follow({ worker_type: 'fake', payload: { handler: 'astream', tokens: ['a', 'b', 'c'], sleep_s: 0.2 } });
    expect(outputs.map((o) => o.output)).toEqual(['a', 'b', 'c']);
    expect(job).toMatchObject({ status: 'succeeded', result: ['a', 'b', 'c'] });
  });

  it('a Python generator that returns a value: that is the result; ctx.output streams too', async () => {
    const { outputs, job } = await follow({ worker_type: 'fake', payload: { handler: 'stream', tokens: [1, 2], sleep_s: 0.25, emit: { last: true }, result: { total: 3 } } });
    expect(outputs.map((o) => o.output)).toEqual([1, 2, { last: true }]);
    expect(job).toMatchObject({ status: 'succeeded', result: { total: 3 } });
  });
});
