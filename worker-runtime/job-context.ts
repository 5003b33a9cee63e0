/**
 * A running job's context for its executor: its abort signal, progress reports and
 * streamed outputs (each writer made on first use: most jobs use neither), and its
 * log lines with the host's secrets redacted. `settle()` writes the last throttled
 * progress update and the pending outputs; the worker awaits it before the result.
 */
import type { JobStore } from '../core/job-store';
import { redact } from '../core/redact';
import type { JobRecord } from '../core/schemas/job';
import type { ExecContext } from './executor';
import type { JobLogSink } from './job-log-writer';
import { createOutputReporter, type OutputReporter } from './output-reporter';
import { createProgressReporter, type ProgressReporter } from './progress-reporter';

export interface JobContextDeps {
  workerId: string;
  store: JobStore;
  logs: JobLogSink;
  secrets: Parameters<typeof redact>[1];
  now(): number;
  /** The worker's own log (failed progress/output writes). */
  log(level: 'warn', message: string): void;
}

export function createJobContext(job: JobRecord, controller: AbortController, d: JobContextDeps): { ctx: ExecContext; settle(): Promise<void> } {
  let reporter: ProgressReporter | undefined;
  const reporterOf = () => (reporter ??= createProgressReporter({
    jobId: job.id, workerId: d.workerId, store: d.store, now: () => d.now(),
    warn: (message) => ctx.log('warn', message),
    writeFailed: (message) => d.log('warn', message),
  }));
  let outputs: OutputReporter | undefined;
  const outputsOf = () => (outputs ??= createOutputReporter({
    jobId: job.id, workerId: d.workerId, attempt: job.attempts, store: d.store, now: () => d.now(),
    warn: (message) => ctx.log('warn', message),
    writeFailed: (message) => d.log('warn', message),
  }));
  const settle = async () => {
    await Promise.all([reporter?.settle(), outputs?.settle()]);
  };
  const ctx: ExecContext = {
    signal: controller.signal,
    progress: (value, message, metrics) => reporterOf().report(value, message, metrics),
    log(level, message) {
      d.logs.write(job.id, level, redact(message, d.secrets));
    },
    output(stream, text) {
      d.logs.write(job.id, stream, redact(text, d.secrets));
    },
    emit: (value) => outputsOf().emit(value),
  };
  return { ctx, settle };
}
