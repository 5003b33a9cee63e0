/**
 * Names and formats the API keeps to. Job error types come from one closed list
 * (core/errors.ts JOB_ERROR_TYPES): the Python runner writes only listed ones, and a type from
 * outside the list is kept as the handler's exception. Times are ISO-8601 strings in every
 * answer, SSE data included, and numbers in SSE data are numbers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isJobErrorType, JOB_ERROR_TYPES, jobErrorKind } from '../core/errors';
import { jobErrorSchema, jobErrorView } from '../core/schemas/job';
import { streamEventData } from '../core/schemas/progress';
import { recordEvents } from '../api/routes/job-events';

const RUNNER = 'worker-runtime/python/kiln_runner';
const PYTHON = '/usr/bin/python3';
const hasPython = spawnSync(PYTHON, ['--version'], { stdio: 'ignore' }).status === 0;

describe('job error types', () => {
  it.skipIf(!hasPython)("every type the Python runner declares is in JOB_ERROR_TYPES", () => {
    const r = spawnSync(PYTHON, ['-c', 'import json; from kiln_runner.errors import ERROR_TYPES; print(json.dumps(ERROR_TYPES))'], {
      cwd: 'worker-runtime/python', encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const declared = JSON.parse(r.stdout) as string[];
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.filter((t) => !isJobErrorType(t))).toEqual([]);
  });

  it('the runner writes no error type literal of its own: each goes through a declared constant', () => {
    // an error object the runner sends is {"type": <constant>, ...}; a quoted literal there would bypass ERROR_TYPES
    const source = ['runner.py', 'errors.py', '__main__.py'].map((f) => readFileSync(`${RUNNER}/${f}`, 'utf8')).join('\n');
    const constants = [...source.matchAll(/^([A-Z_]+) = "([^"]+)"/gm)].map((m) => m[2]!);
    expect(constants.length).toBeGreaterThan(2);
    expect(constants.filter((t) => !isJobErrorType(t))).toEqual([]);
    const literalTypes = [...source.matchAll(/"error": \{\s*"type": "([^"]+)"/g)].map((m) => m[1]);
    expect(literalTypes).toEqual([]);
  });

  it('a type from outside the list is the exception of a handler_error', () => {
    expect(jobErrorKind('timeout')).toEqual({ type: 'timeout' });
    expect(jobErrorKind('ValueError')).toEqual({ type: 'handler_error', exception: 'ValueError' });
    expect(jobErrorSchema.safeParse({ type: 'SomethingElse', message: 'm' }).success).toBe(false);
    expect(new Set(JOB_ERROR_TYPES).size).toBe(JOB_ERROR_TYPES.length);
  });
});

describe('times and numbers in answers', () => {
  const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const ISO = '2026-01-02T03:04:05.678Z';

  it("an events-stream entry's times are ISO strings and its numbers numbers in SSE data", () => {
    expect(streamEventData({ status: 'running', progress: '0.4', message: 'epoch 2', ts: String(T), metrics: '{"loss":0.5}' }))
      .toEqual({ status: 'running', progress: 0.4, message: 'epoch 2', ts: ISO, metrics: { loss: 0.5 } });
    expect(streamEventData({ status: 'delayed', type: 'node', ts: String(T), run_at: String(T + 1000), retry: '2' }))
      .toEqual({ status: 'delayed', type: 'node', ts: ISO, run_at: '2026-01-02T03:04:06.678Z', retry: 2 });
  });

  it("a finished job's transitions, sent from its record, use the same formats", () => {
    const job = { id: 'j', type: 'node', status: 'delayed', created_at: T, started_at: T + 1, run_at: T + 2, progress: 0 } as Parameters<typeof recordEvents>[0];
    const data = recordEvents(job).map((e) => e.data);
    expect(data.map((d) => d.ts)).toEqual([ISO, '2026-01-02T03:04:05.679Z', '2026-01-02T03:04:05.680Z']);
    expect(data.at(-1)).toMatchObject({ status: 'delayed', run_at: '2026-01-02T03:04:05.680Z' });
    const running = recordEvents({ ...job, status: 'running', progress: 0.5 } as typeof job).find((e) => e.event === 'progress');
    expect(running?.data.progress).toBe(0.5);
  });

  it("a failed attempt's `at` is an ISO string in the job view; an older record's exception name becomes handler_error", () => {
    expect(jobErrorView({ type: 'timeout', message: 'm', at: T })).toEqual({ type: 'timeout', message: 'm', at: ISO });
    expect(jobErrorView({ type: 'ValueError', message: 'm' })).toEqual({ type: 'handler_error', exception: 'ValueError', message: 'm' });
  });
});
