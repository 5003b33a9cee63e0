/**
 * Job error types come from one closed list (core/errors.ts JOB_ERROR_TYPES): the Python
 * runner writes only listed ones, and a type from outside the list is kept as the handler's
 * exception, not stored as a type.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isJobErrorType, JOB_ERROR_TYPES, jobErrorKind } from '../core/errors';
import { jobErrorSchema } from '../core/schemas/job';

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
    // a stored record with an unlisted type reads as `unknown`, never as an open string
    expect(jobErrorSchema.parse({ type: 'SomethingElse', message: 'm' }).type).toBe('unknown');
    expect(new Set(JOB_ERROR_TYPES).size).toBe(JOB_ERROR_TYPES.length);
  });
});
