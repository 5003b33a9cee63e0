/**
 * What runs a job inside a worker process. The Node function executor runs a
 * function in-process; the Python executor hands the job to a warm runner.
 */
import type { JobError, JobRecord } from '../core/schemas/job';
import type { ProgressMetrics } from '../core/schemas/progress';

export interface ExecContext {
  /** Aborted on cancel or timeout; the execution must stop soon after. */
  readonly signal: AbortSignal;
  /**
   * Progress in [0, 1], an optional message, and optional metrics: a flat object of
   * finite numbers (`{ loss: 0.31, accuracy: 0.9 }`) kept on the job for its chart.
   * Invalid metrics are dropped with a warning; they never fail the job.
   */
  progress(value: number, message?: string, metrics?: ProgressMetrics): void;
  /** A line (or lines) for the job's log, under its level; never filtered by the worker's log level. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** What the job wrote to stdout or stderr (Node console.*, Python print / sys.stderr), for its log. */
  output?(stream: 'stdout' | 'stderr', text: string): void;
  /**
   * A partial output of the job (a token, a chunk: what a generator handler yields): an
   * `output` event on GET /jobs/:id/events, in order. Throws a TypeError for a value that is not JSON.
   */
  emit?(value: unknown): void;
}

export interface ReadyInfo {
  framework: string;
  version: string;
  python?: string;
  cuda?: boolean;
  gpus?: number;
  /** Set when the framework's version does not match the type's and the policy is "warn". */
  warning?: string;
  /** How long the runner's framework import took (Python types), ms. */
  importMs?: number;
}

export interface Executor {
  /**
   * Jobs it runs at once. The worker claims no more than this (and its type's max_jobs),
   * so a claimed job starts at once and its timeout counts from then.
   */
  readonly capacity: number;
  /** Resolves once the executor can take jobs (for Python: the framework is imported). */
  start(): Promise<ReadyInfo>;
  /** Runs one job; resolves with its JSON-serialisable result or throws a JobFailure. */
  run(job: JobRecord, ctx: ExecContext): Promise<unknown>;
  /** Runs jobs as one batch (Python: one handler call); one promise per job, as run()'s. */
  runBatch?(items: { job: JobRecord; ctx: ExecContext }[]): Promise<unknown>[];
  /** Stops whatever the executor started. Never throws. */
  stop(): Promise<void>;
}

/** A job failed: `retryable: false` tells the worker not to try it again. */
export class JobFailure extends Error {
  readonly error: JobError;
  readonly retryable: boolean;
  /** True when the executor itself is broken and the worker should be replaced. */
  readonly fatal: boolean;

  constructor(error: JobError, opts: { retryable?: boolean; fatal?: boolean } = {}) {
    super(error.message);
    this.name = 'JobFailure';
    this.error = error;
    this.retryable = opts.retryable ?? error.retryable ?? true;
    this.fatal = opts.fatal ?? false;
  }
}

/** An executor that could not start: the framework is missing, the interpreter is wrong… */
export class ExecutorStartError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ExecutorStartError';
    this.code = code;
  }
}
