/**
 * Runs jobs in a warm Python runner (`python -u -m kiln_runner`) over JSON lines.
 *
 * One runner per executor, one job — or one batch of jobs (runBatch) — at a time. A runner that breaks the protocol,
 * dies, or ignores a cancel past the grace is killed and replaced before the next
 * job; the job it held fails with a JobFailure that says why (exit code, signal,
 * the last stderr lines). Nothing here throws out of the worker's event loop.
 */
import { PYTHON_RUNNER_CAPACITY } from '../core/frameworks';
import { fileURLToPath } from 'node:url';
import { jobErrorKind } from '../core/errors';
import type { ModelCacheCounts } from '../core/job-stats';
import type { JobRecord } from '../core/schemas/job';
import { droppedMetricsWarning, sanitizeMetrics } from '../core/schemas/progress';
import { ExecutorStartError, JobFailure, type ExecContext, type Executor, type ReadyInfo } from './executor';
import { abortFailure } from './job-failure';
import { ForkedRunner } from './python-forked-runner';
import { delay, type Exit, type RunnerBase, type RunnerMessage, RunnerProcess, safely } from './python-runner-process';

export { runnerMessageSchema, type RunnerMessage } from './python-runner-process';
export { abortFailure } from './job-failure';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface PythonExecutorOptions {
  /** The interpreter (a virtualenv's python). */
  python: string;
  /** KILN_FRAMEWORK: sklearn | pytorch | tensorflow | fake. */
  framework: string;
  /** The worker's working directory; the runner's cwd. */
  cwd: string;
  /** The runner's whole environment (allow-listed by the caller); PYTHONPATH and KILN_FRAMEWORK are added. */
  env: Record<string, string>;
  /** Folder holding the kiln_runner package; default: `python/` next to this file. */
  runnerPath?: string;
  /** More PYTHONPATH entries after runnerPath (test fixtures, shared handler libraries). */
  pythonPath?: string[];
  /** The worker type's framework version; compared on major.minor with the one the runner reports. */
  expectedVersion?: string;
  versionPolicy?: 'warn' | 'enforce';
  /** After a cancel, how long the runner has to answer before it is killed (default 2000). */
  cancelGraceMs?: number;
  /** stop(): how long the runner has to exit after shutdown before SIGKILL (default 3000). */
  stopGraceMs?: number;
  /** Spawn → ready limit, framework import included (default 60000). */
  startTimeoutMs?: number;
  /** The type's template socket (KILN_TEMPLATE_SOCKET): runners are forked from it, else spawned. */
  templateSocket?: string | undefined;
  /** Fork → ready limit of a forked runner, its self-test included (default 15000); past it: a plain start. */
  templateStartTimeoutMs?: number;
  /** A runner already asked of the template (worker-runtime/runner-prefork.ts): the first start takes it. */
  firstRunner?: ForkedRunner | undefined;
  /** A forked runner failed and this executor starts plainly from now; `unsafe`: its fork self-test failed or hung. */
  onTemplateFallback?: (reason: string, unsafe: boolean) => void;
  onStderr?: (line: string) => void;
  /** Executor-level events and runner log lines that belong to no job. */
  onLog?: (level: LogLevel, message: string) => void;
  /** The runner's model cache counts since its previous report (once per job that moved them), and the models it now keeps. */
  onModelCache?: (counts: ModelCacheCounts & { models?: string[] }) => void;
}

export interface PythonExecutor extends Executor {
  /** The live runner's PID, if one is running. */
  pid(): number | undefined;
  /** The last (up to 50) stderr lines of the current or last runner. */
  stderrTail(): string[];
  /**
   * Runs jobs as one batch: one `run_batch` message, one handler call (see kiln_runner/batch.py);
   * one promise per job, settled with that job's own result or JobFailure. A job cancelled or timed
   * out in a batch ends so once the batch answers (its result is dropped); the batch goes on. When
   * every job of the batch is aborted, the runner has the cancel grace to answer, else it is replaced.
   */
  runBatch(items: { job: JobRecord; ctx: ExecContext }[]): Promise<unknown>[];
}

interface ActiveJob {
  id: string;
  ctx: ExecContext;
  runner: RunnerBase;
  aborted: boolean;
  settle(outcome: { ok: true; value: unknown } | { ok: false; failure: JobFailure }): void;
}

export function createPythonExecutor(o: PythonExecutorOptions): PythonExecutor {
  const runnerPath = o.runnerPath ?? fileURLToPath(new URL('./python', import.meta.url));
  const cancelGraceMs = o.cancelGraceMs ?? 2000;
  const log = (lvl: LogLevel, message: string) => safely(() => o.onLog?.(lvl, message));
  let runner: RunnerBase | undefined;
  let firstRunner = o.firstRunner;
  const takeFirst = () => {
    const r = firstRunner;
    firstRunner = undefined;
    return r;
  };
  /** Why this executor no longer forks from the template (set on its first trouble). */
  let templateOff: string | undefined = o.templateSocket ? undefined : 'no template';
  let starting: Promise<ReadyInfo> | undefined;
  const active = new Map<string, ActiveJob>(); // by job id: the job or the jobs of the batch the runner holds
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const tailText = (r: RunnerBase) => (r.tail.length ? `\nlast stderr lines:\n${r.tail.slice(-10).join('\n')}` : '');
  const exitText = (e: Exit) => e.error ? `could not be started in ${o.cwd} (${e.error.message})` : e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;

  /** Kill the runner (if still alive) and start a fresh one in the background. */
  const replace = (r: RunnerBase, why: string) => {
    r.kill();
    if (r !== runner || closed) return;
    log('warn', `replacing the python runner (pid ${r.pid}): ${why}`);
    start().catch((err: Error) => log('error', `restarting the python runner failed: ${err.message}`));
  };

  const versionProblem = (ready: ReadyInfo): string | undefined => {
    if (!o.expectedVersion) return undefined;
    const [e, a] = [o.expectedVersion, ready.version].map((v) => /^v?(\d+)(?:\.(\d+))?/.exec(v));
    if (!e) return undefined; // "latest" and the like: nothing to compare
    if (a && Number(e[1]) === Number(a[1]) && (e[2] === undefined || Number(e[2]) === Number(a[2]))) return undefined;
    return `this worker type expects ${o.framework} ${o.expectedVersion} but ${o.python} has ${ready.framework} ${ready.version}`;
  };

  const launch = async (): Promise<ReadyInfo> => {
    const old = runner;
    // a replaced runner's model cache goes with it: the worker advertises no model any more
    if (old) safely(() => o.onModelCache?.({ hits: 0, misses: 0, evictions: 0, loads: 0, load_ms: 0, models: [] }));
    if (old && !old.exit) {
      old.kill();
      await Promise.race([old.exited, delay(5000)]);
    }
    if (templateOff === undefined && o.templateSocket) {
      try {
        return await startRunner(o.templateSocket);
      } catch (err) {
        const e = err as ExecutorStartError;
        if (e.code === 'VERSION_MISMATCH') throw err; // a plain runner would import the same version
        templateOff = e.message;
        const unsafe = e.code === 'FORK_UNSAFE';
        log('warn', `the runner forked from the ${o.framework} template failed (${e.message}); starting a plain runner`);
        safely(() => o.onTemplateFallback?.(e.message, unsafe));
      }
    }
    return startRunner(undefined);
  };

  /** Starts a runner (forked from the template, or spawned) and waits for its ready. */
  const startRunner = (templateSocket: string | undefined): Promise<ReadyInfo> => {
    let r: RunnerBase;
    try {
      r = templateSocket ? takeFirst() ?? new ForkedRunner(o, runnerPath, templateSocket) : new RunnerProcess(o, runnerPath);
    } catch (err) {
      throw new ExecutorStartError('SPAWN_FAILED', `cannot start ${o.python} in ${o.cwd}: ${(err as Error).message}`);
    }
    runner = r;
    return new Promise<ReadyInfo>((resolve, reject) => {
      let settled = false;
      const fail = (code: string, message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        r.kill();
        // Reject once the process is gone, so a failed start leaves nothing behind.
        void Promise.race([r.exited, delay(2000)]).then(() => reject(new ExecutorStartError(code, message)));
      };
      const timeoutMs = o.startTimeoutMs ?? 60_000;
      let timer = setTimeout(() => fail(templateSocket ? 'TEMPLATE_TIMEOUT' : 'START_TIMEOUT',
        `the ${o.framework} runner (${o.python}) did not report ready within ${timeoutMs} ms${tailText(r)}`), timeoutMs);
      if (r instanceof ForkedRunner) {
        // from the fork on, a runner that takes long is taken for a fork that hangs (its self-test included)
        const forkMs = o.templateStartTimeoutMs ?? 15_000;
        const forked = () => {
          clearTimeout(timer);
          timer = setTimeout(() => fail('FORK_UNSAFE', `the runner forked from the ${o.framework} template did not report ready within ${forkMs} ms of its fork${tailText(r)}`), forkMs);
        };
        if (r.pid === undefined) r.onForked = forked;
        else forked();
      }
      r.onMessage = (m) => {
        if (settled) return onMessage(r, m);
        if (m.type === 'fatal') return fail(m.code, `${m.message}${tailText(r)}`);
        if (m.type === 'log') return log(m.level ?? 'info', `python runner: ${m.message}`);
        if (m.type !== 'ready') return fail('PROTOCOL_ERROR', `the runner sent ${m.type} before ready`);
        const info: ReadyInfo = { framework: m.framework, version: m.version };
        if (m.python !== undefined) info.python = m.python;
        if (m.cuda !== undefined) info.cuda = m.cuda;
        if (m.gpus !== undefined) info.gpus = m.gpus;
        if (m.import_ms !== undefined) info.importMs = m.import_ms;
        const problem = versionProblem(info);
        if (problem && o.versionPolicy === 'enforce') return fail('VERSION_MISMATCH', problem);
        if (problem) {
          log('warn', problem);
          info.warning = problem;
        }
        settled = true;
        clearTimeout(timer);
        r.ready = info;
        resolve(info);
      };
      r.onBadLine = (line, why) => settled
        ? protocolError(r, line, why)
        : fail('PROTOCOL_ERROR', `the runner wrote ${JSON.stringify(line.slice(0, 200))} (${why}) before ready${tailText(r)}`);
      r.onExit = (e) => settled
        ? runnerExited(r, e)
        : fail(e.error ? 'PYTHON_NOT_FOUND' : 'RUNNER_EXITED',
          `the ${o.framework} runner (${o.python}) ${exitText(e)} before it was ready${tailText(r)}`);
      r.attach();
    });
  };

  const start = (): Promise<ReadyInfo> => {
    closed = false;
    if (runner?.ready && !runner.broken && !runner.exit) return Promise.resolve(runner.ready);
    starting ??= launch().finally(() => { starting = undefined; });
    return starting;
  };

  const onMessage = (r: RunnerBase, m: RunnerMessage) => {
    if (r !== runner || r.broken || m.type === 'ready') return;
    if (m.type === 'fatal') return log('error', `python runner reported ${m.code}: ${m.message}`);
    if (m.type === 'model_cache') return safely(() => o.onModelCache?.(m));
    const held = m.job_id ? active.get(m.job_id) : undefined;
    const job = held?.runner === r ? held : undefined;
    if (m.type === 'log') {
      if (!job) return log(m.level ?? (m.stream === 'stderr' ? 'warn' : 'info'), `python runner: ${m.message}`);
      const stream = m.stream;
      return safely(() => (stream ? job.ctx.output?.(stream, m.message) : job.ctx.log(m.level ?? 'info', m.message)));
    }
    if (m.type === 'progress') return job && safely(() => forwardProgress(job.ctx, m));
    if (m.type === 'output') return job && safely(() => job.ctx.emit?.(m.value));
    if (!job) return log('warn', `python runner answered for job ${m.job_id}, which it is not running`);
    if (m.type === 'result') return job.settle({ ok: true, value: m.result });
    if (r.stopping) return job.settle({ ok: false, failure: stoppedFailure(job.id, m.error.message) });
    job.settle({ ok: false, failure: new JobFailure({ ...m.error, ...jobErrorKind(m.error.type) }, { retryable: m.error.retryable ?? true }) });
  };

  const forwardProgress = (ctx: ExecContext, m: Extract<RunnerMessage, { type: 'progress' }>) => {
    const { metrics, dropped } = sanitizeMetrics(m.metrics);
    if (dropped.length > 0) ctx.log('warn', droppedMetricsWarning(dropped));
    ctx.progress(m.progress, m.message ?? undefined, metrics);
  };

  const stoppedFailure = (jobId: string, detail: string) => new JobFailure(
    { type: 'executor_stopped', message: `the worker stopped while running job ${jobId}: ${detail}`, retryable: true },
    { retryable: true });

  const protocolError = (r: RunnerBase, line: string, why: string) => {
    if (r !== runner || r.broken) return;
    const message = `the python runner wrote a line that is not a protocol message (${why}): ${JSON.stringify(line.slice(0, 200))}`;
    for (const job of heldBy(r)) {
      job.settle({ ok: false, failure: new JobFailure(
        { type: 'protocol_error', message, retryable: true, stderr_tail: [...r.tail] }, { fatal: true, retryable: true }) });
    }
    replace(r, message);
  };

  const runnerExited = (r: RunnerBase, e: Exit) => {
    const jobs = heldBy(r);
    if (jobs.length === 0) return; // an idle runner that died is replaced by the next run()
    const how = `the python runner (pid ${r.pid}) ${exitText(e)}`;
    for (const job of jobs) {
      if (r.stopping) job.settle({ ok: false, failure: stoppedFailure(job.id, how) });
      else job.settle({ ok: false, failure: new JobFailure({
        type: 'runner_crashed', message: `${how} while running job ${job.id}`, retryable: true,
        exit_code: e.code, signal: e.signal, stderr_tail: [...r.tail],
      }, { fatal: true, retryable: true }) }); // settles as cancelled/timeout instead when the job was aborted
    }
    if (!r.stopping) replace(r, `it ${exitText(e)}`);
  };

  const heldBy = (r: RunnerBase) => [...active.values()].filter((job) => job.runner === r);

  /** Sends one job (`run`) or a batch (`run_batch`) to the runner; one promise per job. */
  const runJobs = async (items: { job: JobRecord; ctx: ExecContext }[], asBatch: boolean): Promise<Promise<unknown>[]> => {
    const early = (failure: JobFailure) => items.map(() => Promise.reject(failure));
    if (items.every((i) => i.ctx.signal.aborted)) return items.map((i) => Promise.reject(abortFailure(i.ctx.signal.reason)));
    try {
      await start();
    } catch (err) {
      const e = err as ExecutorStartError;
      return early(new JobFailure({ type: 'executor_start_failed', message: e.message, retryable: true }, { fatal: true, retryable: true }));
    }
    const live = items.filter((i) => !i.ctx.signal.aborted); // one aborted while the runner started: never sent
    if (live.length === 0) return items.map((i) => Promise.reject(abortFailure(i.ctx.signal.reason)));
    const r = runner as RunnerBase;
    const batch: ActiveJob[] = [];
    let timer: NodeJS.Timeout | undefined;
    const sent = live.map(({ job, ctx }) => new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        me.aborted = true;
        r.send({ type: 'cancel', job_id: job.id });
        if (timer || !batch.every((b) => b.aborted)) return; // a batch goes on while one of its jobs is live
        timer = setTimeout(() => {
          for (const b of batch) b.settle({ ok: false, failure: abortFailure(b.ctx.signal.reason) });
          replace(r, `job ${batch.map((b) => b.id).join(', ')} did not stop within ${cancelGraceMs} ms of its cancel`);
        }, cancelGraceMs);
      };
      const me: ActiveJob = {
        id: job.id, ctx, runner: r, aborted: false,
        settle(outcome) {
          if (active.get(me.id) !== me) return;
          active.delete(me.id);
          if (batch.every((b) => active.get(b.id) !== b)) clearTimeout(timer);
          ctx.signal.removeEventListener('abort', onAbort);
          if (me.aborted) reject(abortFailure(ctx.signal.reason)); // a late answer does not undo the cancel
          else if (outcome.ok) resolve(outcome.value);
          else reject(outcome.failure);
        },
      };
      batch.push(me);
      active.set(job.id, me);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    }));
    const wire = live.map(({ job }) => ({ id: job.id, kind: job.kind, type: job.type, payload: job.payload, attempt: job.attempts, timeout_ms: job.timeout_ms }));
    r.send(asBatch ? { type: 'run_batch', jobs: wire } : { type: 'run', job: wire[0] });
    if (r.exit) runnerExited(r, r.exit); // it died between start() and now
    return items.map((i) => {
      const at = live.indexOf(i);
      return at >= 0 ? sent[at] as Promise<unknown> : Promise.reject(abortFailure(i.ctx.signal.reason));
    });
  };

  /** Queues jobs behind the runner's current work; the queue moves on once every job has settled. */
  const enqueue = (items: { job: JobRecord; ctx: ExecContext }[], asBatch: boolean): Promise<unknown>[] => {
    const sending = queue.then(() => runJobs(items, asBatch));
    const promises = items.map((_, i) => sending.then((all) => all[i]));
    queue = Promise.allSettled(promises);
    return promises;
  };

  return {
    // one runner process, one job at a time (spawner/config.ts refuses max_jobs > 1 for Python types)
    capacity: PYTHON_RUNNER_CAPACITY,
    start,
    run(job, ctx) {
      // a safety net only: the worker never hands over more than `capacity` jobs at once
      return enqueue([{ job, ctx }], false)[0] as Promise<unknown>;
    },
    runBatch: (items) => enqueue(items, true), // a batch of 1 too: the handler's batch entry runs it
    async stop() {
      closed = true;
      takeFirst()?.kill(); // asked for early, never used
      try {
        await starting?.catch(() => {});
        const r = runner;
        if (!r || r.exit) return;
        r.stopping = true;
        r.send({ type: 'shutdown' });
        r.endInput();
        const exited = await Promise.race([r.exited.then(() => true), delay(o.stopGraceMs ?? 3000).then(() => false)]);
        if (!exited) {
          r.kill();
          await Promise.race([r.exited, delay(2000)]);
        }
      } catch (err) {
        log('warn', `stopping the python runner: ${(err as Error).message}`);
      }
    },
    pid: () => (runner && !runner.exit && !runner.broken ? runner.pid : undefined),
    stderrTail: () => [...(runner?.tail ?? [])],
  };
}
