import { describe, expect, it } from 'vitest';
import { KilnError } from '../../core/errors';
import { scriptError } from '../../core/script-errors';

describe('scriptError: the one mapper of script error replies', () => {
  const args = { job_id: 'j1', worker_type: 'node', timeout_ms: 90_000, max_attempts: 9 };

  it('maps KILN <CODE> <detail> to the KilnError of the code, from the call’s named ARGV', () => {
    expect(scriptError(new Error('KILN QUEUE_FULL 5'), 'enqueue-job', args)).toMatchObject({ code: 'QUEUE_FULL', status: 429, message: expect.stringContaining('max_queued of 5') });
    expect(scriptError(new Error('KILN TIMEOUT_ABOVE_CEILING 60'), 'enqueue-job', args)).toMatchObject({ code: 'TIMEOUT_ABOVE_CEILING', field: 'timeout_s', message: expect.stringContaining('timeout_s 90 is above') });
  });

  it('reads the reply as @upstash/redis shows it, ignoring a script source quoted after it', () => {
    const upstash = new Error('KILN ATTEMPTS_ABOVE_CEILING 3, command was: ["evalsha","abc"]');
    expect(scriptError(upstash, 'enqueue-job', args)).toMatchObject({ code: 'ATTEMPTS_ABOVE_CEILING', message: expect.stringContaining('at most 3') });
    expect(scriptError(new Error('Command failed: KILN UNKNOWN_WORKER_TYPE'), 'enqueue-job', args)).toMatchObject({ code: 'UNKNOWN_WORKER_TYPE', status: 400 });
    const oom = new Error(`OOM command not allowed, command was: ["eval","return redis.error_reply('KILN JOB_EXISTS')"]`);
    expect(scriptError(oom, 'enqueue-job', args)).toBe(oom);
  });

  it('passes other errors through, and names an unmapped code', () => {
    const down = new Error('Connection is closed.');
    expect(scriptError(down, 'fail-job', args)).toBe(down);
    const other = scriptError(new Error('KILN NOT_A_CODE 1'), 'fail-job', args);
    expect(other).toBeInstanceOf(KilnError);
    expect(other).toMatchObject({ code: 'SCRIPT_ERROR', status: 500, message: 'script fail-job refused with NOT_A_CODE 1' });
  });
});
