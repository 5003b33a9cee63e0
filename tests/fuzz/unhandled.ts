import { type FuzzRunOptions, type FuzzStats, runFuzz } from './property';
/**
 * Collects unhandled rejections, uncaught exceptions and warnings of this process while a fuzz
 * runs (Node only): `take()` after each request names the request that caused one,
 * `stop()` returns them all.
 */
export function trackUnhandled(): { take(): string[]; stop(): string[] } {
  const seen: string[] = [];
  let taken = 0;
  const onRejection = (reason: unknown) => seen.push(`unhandled rejection: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`);
  const onException = (err: Error) => seen.push(`uncaught exception: ${err.stack ?? err.message}`);
  // a timer past 2^31-1 ms fires at once, too many listeners is a leak: both show as process warnings
  const onWarning = (w: Error) => {
    if (w.name !== 'DeprecationWarning' && w.name !== 'ExperimentalWarning') seen.push(`process warning: ${w.name}: ${w.message}`);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);
  return {
    take() {
      const fresh = seen.slice(taken);
      taken = seen.length;
      return fresh.map((s) => s.slice(0, 600));
    },
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
      process.off('warning', onWarning);
      return seen;
    },
  };
}

/**
 * runFuzz in a Node test: an unhandled rejection or uncaught exception fails the
 * request during which it surfaced; `late` holds any that came after the last one.
 */
export async function runFuzzInNode(opts: FuzzRunOptions): Promise<{ stats: FuzzStats; late: string[] }> {
  const tracker = trackUnhandled();
  let stats: FuzzStats;
  try {
    stats = await runFuzz({ ...opts, after: (req, ans) => [...(opts.after?.(req, ans) ?? []), ...tracker.take()] });
  } finally {
    tracker.stop();
  }
  // one turn of the event loop for what the last answer left behind
  await new Promise((r) => setTimeout(r, 50));
  return { stats, late: tracker.take() };
}
