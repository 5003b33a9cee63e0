/**
 * Why a worker type's queued work waits on this host, in words a person can act on:
 * the type errored, no free GPU, the crash-loop breaker's backoff, or every worker
 * it may have is busy. Null when nothing holds it back (or nothing waits).
 */
import type { BreakerState } from './breaker';

export interface TypeWaitSnapshot {
  queued: number;
  /** Every live worker of the type on this host (draining ones included). */
  live: number;
  /** Running jobs of each serving (starting or ready) worker. */
  servingRunning: number[];
  maxWorkers: number;
  maxJobs: number;
  /** Workers the scaling plan wants to start now. */
  wantStart: number;
  breaker: BreakerState;
  /** Why no GPU worker can start now (gpus.blockedReason), if so. */
  gpuBlocked: string | undefined;
  now: number;
}

export function waitingReason(s: TypeWaitSnapshot): string | null {
  // nothing waits: no reason, however the last start went (a cancelled last job clears it)
  if (s.queued === 0) return null;
  if (s.breaker.errored && s.breaker.reason) return `type errored: ${s.breaker.reason}`;
  if (s.wantStart > 0 && s.gpuBlocked) return s.gpuBlocked;
  if (s.wantStart > 0 && s.breaker.nextStartAt > s.now) {
    return `breaker backoff until ${new Date(s.breaker.nextStartAt).toISOString()}${s.breaker.reason ? ` (${s.breaker.reason})` : ''}`;
  }
  const freeSlots = s.servingRunning.reduce((n, running) => n + Math.max(0, s.maxJobs - running), 0);
  if (freeSlots === 0 && s.live >= s.maxWorkers) return `at max_workers (${s.live} of ${s.maxWorkers} workers busy)`;
  return null;
}
