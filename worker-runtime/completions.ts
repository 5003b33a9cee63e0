/**
 * A worker's successful jobs, recorded in batches: the jobs that finish in the same turn
 * of the event loop (a busy worker's jobs, started by one claim reply, often do) go to
 * Redis in one complete-jobs call, which also claims the jobs for their freed slots. The
 * batch is sent once the turn's pending callbacks and promises have run (process.nextTick
 * from a promise callback runs after the promise queue is empty), so no job waits on a
 * timer; a job alone in its turn is one call, as before.
 */
import type { JobRecord } from '../core/schemas/job';

export interface Finished {
  id: string;
  result: unknown;
}

export interface Recorded {
  /** false: the worker no longer held the job (requeued or cancelled meanwhile). */
  recorded: boolean;
  /** The jobs claimed for the freed slots (all of a batch's go to its first job). */
  next: JobRecord[];
}

/** `record(batch)`: one call for the batch, `recorded` in its order. */
export function createCompletions(record: (batch: Finished[]) => Promise<{ recorded: boolean[]; next: JobRecord[] }>) {
  let pending: { job: Finished; resolve(r: Recorded): void; reject(err: unknown): void }[] = [];

  async function flush(): Promise<void> {
    const batch = pending;
    pending = [];
    try {
      const r = await record(batch.map((b) => b.job));
      batch.forEach((b, i) => b.resolve({ recorded: r.recorded[i] === true, next: i === 0 ? r.next : [] }));
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  return {
    /** Resolves once the job's result is recorded (or found no longer this worker's). */
    add(job: Finished): Promise<Recorded> {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) process.nextTick(() => void flush());
        pending.push({ job, resolve, reject });
      });
    },
  };
}
