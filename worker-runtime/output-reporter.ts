/**
 * A running job's partial outputs (what a generator handler yields: tokens, chunks) on
 * their way to the events stream, where GET /jobs/:id/events sends each as an `output`
 * event. One write at a time per job: an output reported while none is in flight is
 * written at once (a token reaches a reader after one Redis round trip), the ones
 * reported during a write go together in the next, in order. `settle()` writes what is
 * pending; the worker calls it before recording the result, so every output precedes
 * the job's end in the stream.
 */
import type { JobStore } from '../core/job-store';

/** The largest output, as JSON; a bigger one is sent as `{"truncated": true, "bytes": n}` (the result keeps it whole). */
export const MAX_OUTPUT_BYTES = 64 * 1024;
/** Outputs one write carries at most. */
const BATCH = 256;

export interface OutputReporterDeps {
  jobId: string;
  workerId: string;
  attempt: number;
  store: Pick<JobStore, 'outputs'>;
  now(): number;
  /** A line for the job's log (an output too large to send). */
  warn(message: string): void;
  /** An output write failed (Redis unreachable): logged, never thrown. */
  writeFailed(message: string): void;
}

export interface OutputReporter {
  /** Queues one output; throws a TypeError when it is not JSON-serialisable (the handler's bug, failing its job). */
  emit(value: unknown): void;
  settle(): Promise<void>;
}

export function createOutputReporter(d: OutputReporterDeps): OutputReporter {
  let pending: string[] = [];
  let seq = 0;
  let writing: Promise<void> | undefined;
  let warned = false;

  const write = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending.slice(0, BATCH);
      pending = pending.slice(batch.length);
      const first = seq;
      seq += batch.length;
      await d.store.outputs(d.jobId, d.workerId, d.attempt, batch, first, d.now())
        .catch((err: unknown) => d.writeFailed(`${batch.length} outputs of ${d.jobId} not sent: ${String(err)}`));
    }
  };
  const kick = () => {
    writing ??= write().finally(() => {
      writing = undefined;
    });
    return writing;
  };

  return {
    emit(value) {
      let json = JSON.stringify(value === undefined ? null : value);
      if (json === undefined) throw new TypeError(`a ${typeof value} is not a JSON value: yield JSON-serialisable outputs`);
      const bytes = new TextEncoder().encode(json).length;
      if (bytes > MAX_OUTPUT_BYTES) {
        if (!warned) d.warn(`an output of ${bytes} bytes is over ${MAX_OUTPUT_BYTES}: its event says {"truncated": true}; return large values as the result`);
        warned = true;
        json = JSON.stringify({ truncated: true, bytes });
      }
      pending.push(json);
      void kick();
    },
    async settle() {
      while (writing) await writing;
    },
  };
}
