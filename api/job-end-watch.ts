/**
 * Wakes `?wait=` submits the moment their job ends, on runtimes that can block on
 * Redis (Node): one loop per API process reads the events stream with a blocking read
 * on its own connection — one connection whatever the number of waiting requests —
 * while at least one request waits, and resolves the waiters of each job whose end
 * it sees. The record polls of api/job-wait.ts stay as the fallback (an end trimmed
 * out of the capped stream, a read that failed), at a slower pace.
 *
 * Runtime-neutral: the blocking read is injected (api/node.ts builds it over ioredis).
 */
import type { JobStatus } from '../core/keys';
import type { Logger } from '../core/logger';
import type { StreamEntry } from '../core/redis-port';
import { FINISHED_STATUSES } from '../core/schemas/job';

export interface JobEndWatch {
  /**
   * Starts watching for the end of job `id`. `ready` resolves once every event appended
   * from then on will be seen; `ended` when the job's end is seen. Call `close()` when done.
   */
  watch(id: string): { ready: Promise<void>; ended: Promise<void>; close(): void };
  /** Stops the loop (the API is closing); waiters fall back to their polls. */
  stop(): void;
}

export interface JobEndWatchDeps {
  /** The id of the newest entry of the events stream ('0-0' when empty). */
  tail(): Promise<string>;
  /** Entries after `afterId`, waiting up to `blockMs` for one ([] when none came). */
  read(afterId: string, blockMs: number): Promise<StreamEntry[]>;
  logger: Logger;
  /** How long one blocking read waits (the loop notices it has no waiter left within this). */
  blockMs?: number;
}

const isFinished = (status: string | undefined) => FINISHED_STATUSES.includes(status as JobStatus);

export function createJobEndWatch(d: JobEndWatchDeps): JobEndWatch {
  const waiters = new Map<string, Set<() => void>>();
  let cursor: Promise<string> | undefined; // set while the loop runs
  let stopped = false;

  const loop = async (start: string) => {
    let after = start;
    let failures = 0;
    while (waiters.size > 0 && !stopped) {
      try {
        const entries = await d.read(after, d.blockMs ?? 1000);
        failures = 0;
        for (const e of entries) {
          after = e.id;
          const job = e.fields.job;
          if (job !== undefined && isFinished(e.fields.status)) for (const wake of waiters.get(job) ?? []) wake();
        }
      } catch (err) {
        if (stopped) return;
        // the waiters' polls carry on meanwhile; log once per run of failures
        if (failures++ === 0) d.logger.warn(`job end watch: ${err instanceof Error ? err.message : String(err)}; ?wait= falls back to polling`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * failures)));
      }
    }
  };

  const ensureLoop = (): Promise<string> => {
    if (cursor) return cursor;
    const started = d.tail();
    cursor = started;
    void started
      .then(loop)
      .catch((err: unknown) => d.logger.warn(`job end watch could not start: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        cursor = undefined;
        if (waiters.size > 0 && !stopped) void ensureLoop(); // a waiter came as the loop was leaving
      });
    return started;
  };

  return {
    watch(id) {
      let wake!: () => void;
      const ended = new Promise<void>((r) => {
        wake = r;
      });
      const set = waiters.get(id) ?? new Set();
      set.add(wake);
      waiters.set(id, set);
      const ready = stopped ? Promise.resolve() : ensureLoop().then(() => undefined, () => undefined);
      return {
        ready,
        ended,
        close() {
          set.delete(wake);
          if (set.size === 0 && waiters.get(id) === set) waiters.delete(id);
        },
      };
    },
    stop() {
      stopped = true;
    },
  };
}
