/**
 * The folder of worker log files (`$KILN_STATE_DIR/logs/workers/<worker_id>.log`):
 * opens one file per worker, knows which are still written, and sweeps the files
 * of workers that exited more than an hour ago (their records' lifetime). It
 * lives outside the worker's workdir, which the supervisor removes on exit.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogFn } from '../core/logger';
import { createLogFile, type LogFile } from './worker-log-file';

export interface WorkerLogsOptions {
  dir: string;
  maxBytes: number;
  now(): number;
  log: LogFn;
  /** Files of workers gone this long are deleted (default one hour, as the worker record). */
  retentionMs?: number;
  sweepEveryMs?: number;
}

/** Worker ids are `<type>-<hex>`; anything else never names a file. */
export const isSafeWorkerId = (id: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/.test(id);

export function createWorkerLogs(o: WorkerLogsOptions) {
  const retentionMs = o.retentionMs ?? 3600_000;
  const open = new Map<string, LogFile>();
  let droppedClosed = 0;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<number> | undefined;
  let stopped = false;

  const pathOf = (id: string) => join(o.dir, `${id}.log`);

  /** Deletes the files of workers not written to for retentionMs (the close touches the file). */
  async function sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(o.dir);
    } catch {
      return 0; // no worker has logged yet
    }
    let removed = 0;
    const cutoff = o.now() - retentionMs;
    for (const name of names) {
      const m = /^(.+)\.log(\.1)?$/.exec(name);
      if (!m || open.has(m[1]!)) continue;
      const file = join(o.dir, name);
      try {
        if ((await stat(file)).mtimeMs < cutoff) {
          await unlink(file);
          removed++;
        }
      } catch {
        // deleted meanwhile
      }
    }
    return removed;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      sweeping = sweep()
        .catch((err: unknown) => {
          o.log('warn', `sweeping old worker log files failed: ${String(err)}`);
          return 0;
        })
        .finally(() => {
          sweeping = undefined;
          schedule();
        });
    }, o.sweepEveryMs ?? 60_000);
    timer.unref();
  }

  return {
    dir: o.dir,
    /** Open follow connections (GET /workers/:id/logs?follow=true), so a test can see one end. */
    following: new Set<unknown>(),
    pathOf,
    /** The log file of a new worker; closing it (the launcher does, after exit) unregisters it. */
    open(id: string): LogFile {
      let reported = false;
      const file = createLogFile({
        path: pathOf(id), maxBytes: o.maxBytes, now: o.now,
        onError(err) {
          if (reported) return;
          reported = true;
          o.log('warn', `log file of ${id} cannot be written (${err.message}); its output is dropped until it can`, { worker_id: id });
        },
      });
      open.set(id, file);
      const close = file.close.bind(file);
      return Object.assign(file, {
        async close() {
          await close();
          droppedClosed += file.dropped();
          if (open.get(id) === file) open.delete(id);
        },
      });
    },
    /** Whether a worker's file is still being written (its process or pipes are open). */
    isWriting: (id: string) => open.has(id),
    /** Lines dropped so far across every file (a metric). */
    dropped: () => droppedClosed + [...open.values()].reduce((n, f) => n + f.dropped(), 0),
    sweep,
    start(): void {
      stopped = false;
      void sweep().catch(() => 0);
      schedule();
    },
    /** Stops the sweep and closes every open file (after the workers are gone). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await sweeping;
      await Promise.all([...open.values()].map((f) => f.close()));
    },
  };
}

export type WorkerLogs = ReturnType<typeof createWorkerLogs>;
