/**
 * Job logs end to end: real spawner, real worker processes (Node and the Python
 * runner with the fake framework), real Redis; read back through the API.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../core/keys';
import { parseSse } from './contract/suite';
import { startRedis, type RedisServer } from './helpers/redis-server';
import { startSystem, type System } from './helpers/system';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const FAKE = join(FIXTURES, 'fake_framework');
const PY = '/usr/bin/python3';
const hasPython = (() => {
  try {
    execFileSync(PY, ['-c', '0'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasPython) console.log(`skipping the Python job-log tests: ${PY} cannot run`);

let redis: RedisServer;
let sys: System;

beforeAll(async () => {
  redis = await startRedis();
  sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', max_jobs: 16, max_workers: 1, idle_timeout: 60 },
      fake: { framework: 'fake', version: '0.1.0', python: PY, python_path: [FAKE], max_jobs: 1, max_workers: 1, idle_timeout: 60 },
    },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'functions.mjs'), KILN_HANDLERS_DIR: join(FAKE, 'handlers') },
  });
});

afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
});

type Line = { ts: string; stream: string; text: string };

const submit = async (body: unknown): Promise<string> => {
  const r = await sys.request('POST', '/jobs', body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.job_id as string;
};
const finished = (id: string, ms = 30_000) => sys.waitFor(`job ${id} to finish`, async () => {
  const j = await sys.job(id);
  return ['succeeded', 'failed', 'cancelled'].includes(j.status) && j;
}, ms);

/** Every kept line, page by page; checks next_cursor on the way. */
async function allLines(id: string, limit = 5000): Promise<Line[]> {
  const lines: Line[] = [];
  let cursor: string | null | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await sys.request('GET', `/jobs/${id}/logs?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.job_id).toBe(id);
    lines.push(...(r.body.lines as Line[]));
    cursor = r.body.next_cursor as string | null;
    if (cursor === null) return lines;
  }
  throw new Error('next_cursor never became null for a finished job');
}

describe('Node functions', () => {
  it('attributes console output to the right job with 16 jobs running at once in one worker', async () => {
    const markers = Array.from({ length: 16 }, (_, i) => `M${i}x${Math.random().toString(36).slice(2, 8)}`);
    const rounds = 5;
    const ids = await Promise.all(markers.map((marker) => submit({ function: 'chatty', input: { marker, rounds, together: 16 } })));
    const jobs = await Promise.all(ids.map((id) => finished(id)));
    for (const j of jobs) expect(j.status, JSON.stringify(j.error)).toBe('succeeded');
    expect(new Set(jobs.map((j) => j.worker_id)).size).toBe(1); // one worker process ran them all …
    expect(Math.max(...jobs.map((j) => j.result.ran_with))).toBe(16); // … all at the same time
    for (const [i, id] of ids.entries()) {
      const lines = await allLines(id);
      const marker = markers[i]!;
      for (const l of lines) expect(l.text.startsWith(`${marker} `), `${l.text} in the log of ${marker}`).toBe(true);
      const texts = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.text).sort();
      const expected = (what: string) => Array.from({ length: rounds }, (_, r) => `${marker} ${what} ${r}`).sort();
      expect(texts('stdout')).toEqual([...expected('log'), ...expected('info')].sort());
      expect(texts('stderr')).toEqual([...expected('warn'), ...expected('error')].sort());
      expect(texts('debug')).toEqual(expected('ctx'));
      expect(lines).toHaveLength(rounds * 5);
      for (const l of lines) expect(new Date(l.ts).toISOString()).toBe(l.ts);
    }
  });

  it('keeps ctx.log info lines (the built-in progress function logs each step)', async () => {
    const id = await submit({ function: 'progress', input: { steps: 3, ms: 5 } });
    expect((await finished(id)).status).toBe('succeeded');
    expect((await allLines(id)).map((l) => [l.stream, l.text])).toEqual([['info', 'step 1/3'], ['info', 'step 2/3'], ['info', 'step 3/3']]);
  });

  it('keeps the last 5,000 lines of a job and says how many were cut', async () => {
    const id = await submit({ function: 'spam', input: { lines: 6200 } });
    expect((await finished(id)).status).toBe('succeeded');
    const lines = await allLines(id, 1000);
    expect(lines[0]).toMatchObject({ stream: 'warn', text: '[kiln] 1,200 earlier lines were cut (limit: 5,000 lines / 1 MiB per job)' });
    expect(lines).toHaveLength(5001);
    expect(lines[1]!.text).toBe('line 1200');
    expect(lines.at(-1)!.text).toBe('line 6199');
    // a page that starts after the first line has no cut notice
    const first = await sys.request('GET', `/jobs/${id}/logs?limit=2`);
    const next = await sys.request('GET', `/jobs/${id}/logs?limit=2&cursor=${first.body.next_cursor}`);
    expect(next.body.lines.map((l: Line) => l.text)).toEqual(['line 1201', 'line 1202']);
  });

  it('keeps at most 1 MiB per job and truncates lines over 8 KiB', async () => {
    const id = await submit({ function: 'spam', input: { lines: 300, size: 20_000 } });
    expect((await finished(id)).status).toBe('succeeded');
    const lines = await allLines(id);
    const [notice, ...kept] = lines;
    const bytes = kept.reduce((n, l) => n + Buffer.byteLength(l.text), 0);
    expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(bytes).toBeGreaterThan(1024 * 1024 - 9000);
    expect(notice!.text).toBe(`[kiln] ${300 - kept.length} earlier lines were cut (limit: 5,000 lines / 1 MiB per job)`);
    expect(kept.at(-1)!.text.startsWith('line 299xxx')).toBe(true);
    for (const l of kept) {
      expect(l.text).toMatch(/^line \d+x+… \[kiln: line truncated, 11,8\d\d more bytes\]$/);
      expect(Buffer.byteLength(l.text.slice(0, l.text.indexOf('…')))).toBe(8192);
    }
  });

  it('expires the log with the job, succeeded or failed', async () => {
    const keys = createKeys(sys.prefix);
    const ok = await submit({ function: 'progress', input: { steps: 2, ms: 1 } });
    const bad = await submit({ function: 'logThenFail', max_attempts: 1 });
    for (const id of [ok, bad]) {
      await finished(id);
      const [jobTtl, logTtl] = await Promise.all([sys.redis.pttl(keys.job(id)), sys.redis.pttl(keys.logs(id))]);
      expect(jobTtl, id).toBeGreaterThan(0);
      expect(Math.abs(jobTtl - logTtl), id).toBeLessThan(5000);
    }
    expect((await sys.job(bad)).status).toBe('failed');
    // the failed job's retention (7 days) is longer than the succeeded one's (1 day)
    expect(await sys.redis.pttl(keys.logs(bad))).toBeGreaterThan(await sys.redis.pttl(keys.logs(ok)));
  });

  it('streams a running job\'s lines with ?follow=true, then ends; GET /events carries them too', async () => {
    const id = await submit({ function: 'progress', input: { steps: 4, ms: 150 } });
    const body = async (path: string) => (await sys.api.request(path)).text();
    const [follow, events] = (await Promise.all([body(`/jobs/${id}/logs?follow=true`), body(`/jobs/${id}/events`)])).map(parseSse);
    const steps = ['step 1/4', 'step 2/4', 'step 3/4', 'step 4/4'];
    expect(follow!.map((e) => e.event)).toEqual(['log', 'log', 'log', 'log', 'end']);
    expect(follow!.slice(0, 4).map((e) => e.data)).toEqual(steps.map((text) => ({ ts: expect.any(String), stream: 'info', text })));
    for (const e of follow!.slice(0, 4)) expect(e.id).toMatch(/^\d+-\d+$/);
    expect(follow!.at(-1)!.data).toMatchObject({ job_id: id, status: 'succeeded' });
    const logs = events!.filter((e) => e.event === 'log');
    expect(logs.map((e) => e.data)).toEqual(steps.map((text) => ({ job_id: id, ts: expect.any(String), stream: 'info', text })));
    expect(events!.findIndex((e) => e.event === 'log' && e.data.text === 'step 4/4')).toBeLessThan(events!.findIndex((e) => e.event === 'end'));
    expect(events!.at(-1)!.event).toBe('end');
  });

  it('answers 404 for the logs of an unknown job', async () => {
    const r = await sys.request('GET', '/jobs/no-such-job/logs');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('JOB_NOT_FOUND');
    expect((await sys.request('GET', '/jobs/no-such-job/logs?follow=true')).status).toBe(404);
  });
});

describe.skipIf(!hasPython)('Python handlers', () => {
  it('keeps print, sys.stdout, sys.stderr, ctx.log and logging lines with their streams', async () => {
    const id = await submit({ worker_type: 'fake', payload: { handler: 'output' } });
    const job = await finished(id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const lines = (await allLines(id)).map((l) => [l.stream, l.text]);
    const traceback = lines.findIndex(([, t]) => t === 'Traceback (most recent call last):');
    expect(traceback).toBeGreaterThan(0);
    expect(lines[traceback - 1]).toEqual(['error', 'fixture.output: logging with a traceback']);
    expect(lines.slice(traceback).some(([s, t]) => s === 'error' && t === 'ValueError: boom')).toBe(true);
    const rest = lines.filter(([s], i) => !(s === 'error' && i >= traceback - 1));
    expect(rest).toEqual([
      ['stdout', 'printed line'],
      ['stdout', 'two'],
      ['stdout', 'lines'],
      ['stdout', 'partial then whole'],
      ['stderr', 'to stderr'],
      ['stderr', 'progress 100%'],
      ['info', 'from ctx.log'],
      ['warn', 'ctx warning'],
      ['info', 'fixture.output: logging info'],
      ['warn', 'fixture.output: logging warning'],
      ['stderr', 'OWN WARNING handled by its own handler'],
      ['stdout', 'no newline at the end'],
    ]);
  });
});
