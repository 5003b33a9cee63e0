/**
 * Crash-loop breaker per worker type: workers that fail to start or die young
 * several times in a row mark their type `errored`, and restarts back off
 * (×1.5, capped) until a worker runs stably again.
 */
import { DEFAULTS } from '../core/config';

export interface BreakerOptions {
  /** A worker that lived less than this died young. */
  youngMs: number;
  /** Consecutive young deaths before the type is marked errored. */
  threshold: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = {
  youngMs: DEFAULTS.KILN_BREAKER_YOUNG_MS, threshold: DEFAULTS.KILN_BREAKER_THRESHOLD, baseDelayMs: DEFAULTS.KILN_BREAKER_BASE_MS, maxDelayMs: DEFAULTS.KILN_BREAKER_MAX_MS,
};

export interface BreakerState {
  failures: number;
  nextStartAt: number;
  reason: string | null;
  errored: boolean;
}

export function createBreaker(opts: BreakerOptions = DEFAULT_BREAKER) {
  const states = new Map<string, BreakerState>();
  const get = (type: string): BreakerState => {
    let s = states.get(type);
    if (!s) states.set(type, (s = { failures: 0, nextStartAt: 0, reason: null, errored: false }));
    return s;
  };
  return {
    opts,
    state: get,
    canStart(type: string, now: number): boolean {
      return now >= get(type).nextStartAt;
    },
    /** Records a worker's end; returns true when the type's state changed. */
    recordExit(type: string, uptimeMs: number, failedToStart: boolean, reason: string, now: number): boolean {
      const s = get(type);
      if (!failedToStart && uptimeMs >= opts.youngMs) return this.recordStable(type);
      s.failures++;
      const delay = Math.min(opts.maxDelayMs, opts.baseDelayMs * 1.5 ** (s.failures - 1));
      s.nextStartAt = now + delay;
      s.reason = `${reason} (${s.failures} in a row; next start in ${(delay / 1000).toFixed(1)} s)`;
      const wasErrored = s.errored;
      s.errored = failedToStart || s.failures >= opts.threshold;
      return s.errored || wasErrored;
    },
    /** A worker ran long enough: the type is healthy again. */
    recordStable(type: string): boolean {
      const s = get(type);
      const changed = s.errored || s.failures > 0;
      s.failures = 0;
      s.nextStartAt = 0;
      s.reason = null;
      s.errored = false;
      return changed;
    },
  };
}

export type Breaker = ReturnType<typeof createBreaker>;
