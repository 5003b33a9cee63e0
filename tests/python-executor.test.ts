/**
 * The Python executor against the real runner and the fake framework's
 * misbehaving handlers: crashes, garbage on the protocol, hangs, slow imports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../core/schemas/job';
import { ExecutorStartError, JobFailure, type ExecContext } from '../worker-runtime/executor';
import { abortFailure, createPythonExecutor, type PythonExecutor, type PythonExecutorOptions } from '../worker-runtime/python-executor';

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'fake_framework');
const HANDLERS = join(FIXTURES, 'handlers');
const hasPython = existsSync(PYTHON);
const canImport = (module: string) => hasPython && spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
const hasSklearn = canImport('sklearn');
const hasTensorflow = canImport('tensorflow');
if (!hasPython) console.log(`python executor tests skipped: ${PYTHON} does not exist`);
if (hasPython && !hasSklearn) console.log(`sklearn executor test skipped: ${PYTHON} cannot import sklearn`);

const work = mkdtempSync(join(tmpdir(), 'kiln-pyexec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const executors: PythonExecutor[] = [];
afterEach(async () => {
  await Promise.all(executors.map((e) => e.stop()));
  executors.length = 0;
});

function executor(opts: Partial<PythonExecutorOptions> = {}, env: Record<string, string> = {}): PythonExecutor & { logs: string[] } {
  const logs: string[] = [];
  const e = createPythonExecutor({
    python: PYTHON,
    framework: 'fake',
    cwd: work,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KILN_HANDLERS_DIR: HANDLERS, KILN_DATA_ROOT: work, KILN_ARTIFACT_ROOT: work, ...env },
    pythonPath: [FIXTURES],
    cancelGraceMs: 400,
    stopGraceMs: 1000,
    startTimeoutMs: 15_000,
    onLog: (level, message) => logs.push(`${level} ${message}`),
    ...opts,
  });
  executors.push(e);
  return Object.assign(e, { logs });
}

let seq = 0;
function job(payload: unknown, kind: JobRecord['kind'] = 'generic'): JobRecord {
  seq += 1;
  return {
    id: `job-${seq}`, seq, type: 'fake', kind, payload, status: 'running', priority: 0, attempts: 1,
    max_attempts: 3, timeout_ms: 60_000, progress: 0, created_at: Date.now(),
  };
}

function context() {
  const controller = new AbortController();
  const progress: [number, string | undefined][] = [];
  const logs: [string, string][] = [];
  const output: [string, string][] = [];
  const ctx: ExecContext = {
    signal: controller.signal,
    progress: (value, message) => progress.push([value, message]),
    log: (level, message) => logs.push([level, message]),
    output: (stream, text) => output.push([stream, text]),
  };
  return { ctx, controller, progress, logs, output };
}

async function failure(promise: Promise<unknown>): Promise<JobFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(JobFailure);
    return err as JobFailure;
  }
  throw new Error('expected the job to fail');
}

async function startError(promise: Promise<unknown>): Promise<ExecutorStartError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ExecutorStartError);
    return err as ExecutorStartError;
  }
  throw new Error('expected start() to fail');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

const until = async (what: string, fn: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!hasPython)('python executor', () => {
  it('starts the runner, then runs jobs and forwards progress and logs', async () => {
    const e = executor();
    const ready = await e.start();
    expect(ready).toMatchObject({ framework: 'fake', version: '0.1.0', cuda: false, gpus: 0 });
    expect(ready.python).toMatch(/^3\./);
    const pid = e.pid();
    expect(pid).toBeGreaterThan(0);
    expect(await e.start()).toEqual(ready); // already warm: same runner
    const { ctx, progress, logs, output } = context();
    expect(await e.run(job({ handler: 'progress', steps: 2 }), ctx)).toEqual({ steps: 2 });
    expect(progress).toEqual([[0.5, 'step 1/2'], [1, 'step 2/2']]);
    expect(logs).toEqual([['warn', 'halfway there']]);
    // print() and sys.stdout go to the job's output; a raw write to fd 1 to the runner's stderr
    expect(output).toEqual([['stdout', 'print() from a handler'], ['stdout', 'sys.stdout.write from a handler']]);
    const j = job({ a: [1, 2] }, 'training');
    expect(await e.run(j, context().ctx)).toEqual({ echo: { a: [1, 2] }, kind: 'training', attempt: 1 });
    expect(e.pid()).toBe(pid);
    await until('stderr from the handler', () => e.stderrTail().includes('raw write to fd 1 from a handler'));
  });

  it('starts on demand and serialises concurrent runs', async () => {
    const e = executor();
    const results = await Promise.all([1, 2, 3].map((n) => e.run(job({ handler: 'echo', n }), context().ctx)));
    expect(results.map((r) => (r as { echo: { n: number } }).echo.n)).toEqual([1, 2, 3]);
  });

  it('maps handler errors to JobFailure with retryable set from the runner', async () => {
    const e = executor();
    const transient = await failure(e.run(job({ handler: 'fail', retryable: true }), context().ctx));
    expect(transient.retryable).toBe(true);
    expect(transient.fatal).toBe(false);
    expect(transient.error).toMatchObject({ type: 'handler_error', exception: 'ValueError', message: 'transient failure from the fixture' });
    expect(transient.error.traceback).toContain('Traceback');
    const permanent = await failure(e.run(job({ handler: 'fail', retryable: false }), context().ctx));
    expect(permanent.retryable).toBe(false);
    expect(permanent.error).toMatchObject({ type: 'handler_error', exception: 'NonRetryableError' });
  });

  it('fails the job with protocol_error on garbage output and runs the next job on a new runner', async () => {
    const e = executor();
    await e.start();
    const first = e.pid() as number;
    const f = await failure(e.run(job({ handler: 'garbage' }), context().ctx));
    expect(f.error.type).toBe('protocol_error');
    expect(f.error.message).toContain('this is not a JSON line');
    expect(f.fatal).toBe(true);
    expect(f.retryable).toBe(true);
    expect(await e.run(job({ handler: 'echo' }), context().ctx)).toMatchObject({ echo: { handler: 'echo' } });
    expect(e.pid()).not.toBe(first);
    await until('the broken runner to be gone', () => !alive(first));
  });

  it('reports a runner crash with its exit code and stderr tail, then recovers', async () => {
    const e = executor();
    await e.start();
    const first = e.pid();
    const { ctx, output } = context();
    const f = await failure(e.run(job({ handler: 'crash', code: 7 }), ctx));
    expect(f.error).toMatchObject({ type: 'runner_crashed', exit_code: 7, signal: null });
    expect(f.error.message).toContain('exited with code 7');
    expect(f.error.stderr_tail).toContain('fixture crash: about to os._exit (fd 2)');
    expect(output).toEqual([['stderr', 'fixture crash: about to os._exit (sys.stderr)']]); // the job's own last words
    expect(f.fatal).toBe(true);
    expect(f.retryable).toBe(true);
    expect(await e.run(job({ handler: 'echo' }), context().ctx)).toBeTruthy();
    expect(e.pid()).not.toBe(first);
  });

  it('kills a runner that ignores a cancel after the grace, fails the job as cancelled, and replaces it', async () => {
    const e = executor({ cancelGraceMs: 300 });
    await e.start();
    const first = e.pid() as number;
    const { ctx, controller, progress } = context();
    const running = e.run(job({ handler: 'hang' }), ctx);
    await until('the hang handler to start', () => progress.length > 0);
    const abortedAt = Date.now();
    controller.abort();
    const f = await failure(running);
    expect(Date.now() - abortedAt).toBeGreaterThanOrEqual(250);
    expect(f.error).toMatchObject({ type: 'cancelled' });
    expect(f.retryable).toBe(false);
    await until('the hung runner to be killed', () => !alive(first));
    expect(await e.run(job({ handler: 'echo' }), context().ctx)).toBeTruthy();
    expect(e.pid()).not.toBe(first);
    expect(e.logs.join('\n')).toContain('did not stop within 300 ms');
  });

  it('uses the abort reason: a timeout stays a retryable timeout', async () => {
    const e = executor({ cancelGraceMs: 200 });
    const { ctx, controller, progress } = context();
    const running = e.run(job({ handler: 'hang' }), ctx);
    await until('the hang handler to start', () => progress.length > 0);
    controller.abort({ type: 'timeout', message: 'job exceeded its 1 s timeout' });
    const f = await failure(running);
    expect(f.error).toEqual({ type: 'timeout', message: 'job exceeded its 1 s timeout' });
    expect(f.retryable).toBe(true);
    expect(abortFailure(new DOMException('signal timed out', 'TimeoutError')).error.type).toBe('timeout');
    expect(abortFailure(undefined).error).toEqual({ type: 'cancelled', message: 'the job was cancelled' });
  });

  it('keeps the runner when the handler honours the cancel', async () => {
    const e = executor({ cancelGraceMs: 5000 });
    await e.start();
    const pid = e.pid();
    const { ctx, controller, progress } = context();
    const running = e.run(job({ handler: 'cooperative' }), ctx);
    await until('the cooperative handler to start', () => progress.length > 0);
    controller.abort();
    const f = await failure(running);
    expect(f.error.type).toBe('cancelled');
    expect(e.pid()).toBe(pid);
    const already = context();
    already.controller.abort();
    expect((await failure(e.run(job({ handler: 'echo' }), already.ctx))).error.type).toBe('cancelled');
  });

  it('runs a batch in one handler call: each job gets its own result, a bad input fails alone', async () => {
    const e = executor();
    const [a, b, c] = [context(), context(), context()];
    const [ra, rb, rc] = e.runBatch([
      { job: job({ handler: 'batched', x: 1 }), ctx: a.ctx }, { job: job({ handler: 'batched', x: 'no' }), ctx: b.ctx },
      { job: job({ handler: 'batched', x: 4 }), ctx: c.ctx },
    ]);
    expect(await ra).toEqual({ doubled: 2, batch_size: 3 });
    expect(await rc).toEqual({ doubled: 8, batch_size: 3 });
    const f = await failure(rb as Promise<unknown>);
    expect(f.error).toMatchObject({ exception: 'ValueError', message: "x must be a number, not 'no'" });
    for (const x of [a, b, c]) expect(x.logs).toEqual([['info', 'batch of 3']]);
    expect(await e.run(job({ handler: 'echo' }), context().ctx)).toBeTruthy(); // the runner is free again
  });

  it('ends a job cancelled in a batch as cancelled while the batch goes on, on the same runner', async () => {
    const e = executor({ cancelGraceMs: 300 });
    await e.start();
    const pid = e.pid();
    const [a, b] = [context(), context()];
    const [ra, rb] = e.runBatch([
      { job: job({ handler: 'batched', x: 1, wait_cancel: true }), ctx: a.ctx }, { job: job({ handler: 'batched', x: 2 }), ctx: b.ctx },
    ]);
    await until('the batch to start', () => a.progress.length > 0);
    a.controller.abort();
    expect((await failure(ra as Promise<unknown>)).error.type).toBe('cancelled');
    expect(await rb).toEqual({ doubled: 4, batch_size: 2 });
    expect(e.pid()).toBe(pid);
  });

  it('gives a batch whose every job was aborted the cancel grace, then replaces the runner', async () => {
    const e = executor({ cancelGraceMs: 300 });
    await e.start();
    const first = e.pid() as number;
    const [a, b] = [context(), context()];
    const [ra, rb] = e.runBatch([{ job: job({ handler: 'hang' }), ctx: a.ctx }, { job: job({ handler: 'hang' }), ctx: b.ctx }]);
    await until('the first hang job to start', () => a.progress.length > 0);
    a.controller.abort();
    await new Promise((r) => setTimeout(r, 400)); // one job aborted: the batch goes on past the grace
    expect(alive(first)).toBe(true);
    b.controller.abort({ type: 'timeout', message: 'too slow' });
    expect((await failure(ra as Promise<unknown>)).error.type).toBe('cancelled');
    expect((await failure(rb as Promise<unknown>)).error).toEqual({ type: 'timeout', message: 'too slow' });
    await until('the hung runner to be killed', () => !alive(first));
    expect(await e.run(job({ handler: 'echo' }), context().ctx)).toBeTruthy();
  });

  it('runs the memory hog fixture: the runner holds the memory until cancelled', async () => {
    const e = executor({ cancelGraceMs: 2000 });
    await e.start();
    const pid = e.pid() as number;
    const { ctx, controller, progress } = context();
    const running = e.run(job({ handler: 'memory_hog', mb: 96, seconds: 30 }), ctx);
    await until('the allocation', () => progress.length > 0);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    expect(rssKb).toBeGreaterThan(96 * 1024);
    controller.abort();
    expect((await failure(running)).error.type).toBe('cancelled');
    expect(e.pid()).toBe(pid);
  });

  it('rejects start with FRAMEWORK_MISSING and a message that says what to install', async () => {
    if (hasTensorflow) return console.log('FRAMEWORK_MISSING check skipped: tensorflow is installed');
    const e = executor({ framework: 'tensorflow' });
    const err = await startError(e.start());
    expect(err.code).toBe('FRAMEWORK_MISSING');
    expect(err.message).toContain(`tensorflow is not installed for ${PYTHON}`);
    expect(err.message).toContain('pip install tensorflow');
    expect(e.pid()).toBeUndefined();
    const f = await failure(e.run(job({}), context().ctx));
    expect(f.error.type).toBe('executor_start_failed');
    expect(f.fatal).toBe(true);
  });

  it('rejects start when the interpreter does not exist or the runner exits early', async () => {
    const missing = await startError(executor({ python: join(work, 'no-such-python') }).start());
    expect(missing.code).toBe('PYTHON_NOT_FOUND');
    expect(missing.message).toContain('no-such-python');
    const early = await startError(executor({ runnerPath: join(work, 'no-runner-here') }).start());
    expect(early.code).toBe('RUNNER_EXITED');
    expect(early.message).toContain('exited with code 1');
    expect(early.message).toContain('No module named kiln_runner');
  });

  it('looks a bare interpreter name up on the PATH it is given', async () => {
    if (hasTensorflow) return console.log('bare-name check skipped: tensorflow is installed');
    const e = executor({ python: 'python3', framework: 'tensorflow' }, { PATH: '/usr/bin:/bin' });
    expect((await startError(e.start())).message).toContain('tensorflow is not installed for /usr/bin/python3');
  });

  it('enforces or warns about a framework version mismatch on major.minor', async () => {
    const enforce = await startError(executor({ expectedVersion: '2.1.0', versionPolicy: 'enforce' }).start());
    expect(enforce.code).toBe('VERSION_MISMATCH');
    expect(enforce.message).toContain('2.1.0');
    expect(enforce.message).toContain('0.1.0');
    const warn = executor({ expectedVersion: '2.1.0', versionPolicy: 'warn' });
    expect((await warn.start()).version).toBe('0.1.0');
    expect(warn.logs.some((l) => l.startsWith('warn ') && l.includes('expects fake 2.1.0'))).toBe(true);
    const patch = executor({ expectedVersion: '0.1.9', versionPolicy: 'enforce' });
    expect((await patch.start()).version).toBe('0.1.0');
  });

  it('gives up on a runner whose framework import outlasts the start timeout, and kills it', async () => {
    const e = executor({ startTimeoutMs: 400 }, { KILN_FAKE_IMPORT_DELAY_S: '20' });
    const err = await startError(e.start());
    expect(err.code).toBe('START_TIMEOUT');
    expect(err.message).toContain('did not report ready within 400 ms');
    const slowButFine = executor({ startTimeoutMs: 10_000 }, { KILN_FAKE_IMPORT_DELAY_S: '0.3' });
    expect((await slowButFine.start()).framework).toBe('fake');
  });

  it('stops an idle runner and a busy one, and never throws', async () => {
    const idle = executor();
    await idle.start();
    const pid = idle.pid() as number;
    await idle.stop();
    expect(alive(pid)).toBe(false);
    expect(idle.pid()).toBeUndefined();
    await idle.stop();

    const busy = executor({ stopGraceMs: 300 }, { KILN_SHUTDOWN_GRACE_S: '10' });
    const { ctx, progress } = context();
    const running = busy.run(job({ handler: 'hang' }), ctx);
    await until('the hang handler to start', () => progress.length > 0);
    const busyPid = busy.pid() as number;
    await busy.stop();
    const f = await failure(running);
    expect(f.error.type).toBe('executor_stopped');
    expect(f.retryable).toBe(true);
    expect(alive(busyPid)).toBe(false);
    await executor().stop(); // never started
  });

  it.skipIf(!hasSklearn)('trains and predicts with scikit-learn end to end', async () => {
    const data = join(work, 'sk-data');
    const artifacts = join(work, 'sk-artifacts');
    mkdirSync(data, { recursive: true });
    const rows = ['x1,x2,y', ...Array.from({ length: 60 }, (_, i) => `${i % 10},${(i * 7) % 13},${i % 10 > 4 ? 1 : 0}`)];
    writeFileSync(join(data, 'd.csv'), `${rows.join('\n')}\n`);
    const keyFile = join(work, 'artifact.key');
    writeFileSync(keyFile, `${'k'.repeat(43)}\n`, { mode: 0o600 });
    const e = executor({ framework: 'sklearn', expectedVersion: '1.3.0' }, { KILN_DATA_ROOT: data, KILN_ARTIFACT_ROOT: artifacts, KILN_ARTIFACT_KEY_FILE: keyFile });
    expect((await e.start()).framework).toBe('sklearn');
    const { ctx, progress } = context();
    const train = job({ model_type: 'decision_tree', data_path: 'd.csv' }, 'training');
    const result = (await e.run(train, ctx)) as { metrics: { accuracy: number }; artifact_path: string };
    expect(result.metrics.accuracy).toBe(1);
    expect(existsSync(result.artifact_path)).toBe(true);
    expect(progress.at(-1)).toEqual([1, 'done']);
    const predicted = await e.run(job({ model_path: train.id, inputs: [[9, 0], [1, 0]] }, 'inference'), context().ctx);
    expect(predicted).toMatchObject({ predictions: [1, 0] });
  });
});
