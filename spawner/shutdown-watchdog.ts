/**
 * The last guard of a shutdown: every wait in the stop path is bounded already
 * (drain grace, kill grace, one Redis timeout per call), and should one still hang
 * the process exits anyway. Workers leave with it (each exits when its IPC channel
 * closes); the next spawner run's recovery requeues their jobs.
 */

/** Exits with `code` after `ms` unless the process has exited by then. */
export function armShutdownWatchdog(ms: number, onFire: () => void, code = 1): void {
  setTimeout(() => {
    onFire();
    process.exit(code);
  }, ms).unref();
}

/** How long a forced stop (a second Ctrl-C) waits for killed workers' exits to be recorded. */
export const FORCED_STOP_WAIT_MS = 1000;

/** The whole budget of a stop: the drain grace plus a little for the last bounded steps. */
export const shutdownBudgetMs = (drainGraceMs: number, redisTimeoutMs: number): number => drainGraceMs + redisTimeoutMs + 1000;
