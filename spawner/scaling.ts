/** The scaling decision for one worker type, as a pure function of what is seen. */
export interface TypeSnapshot {
  queued: number;
  /** Jobs running on this host's workers of the type. */
  running: number;
  /** Workers starting or ready (not draining). */
  serving: number;
  /** Every live worker process of the type, draining ones included. */
  live: number;
  maxJobs: number;
  minWorkers: number;
  maxWorkers: number;
  /** Idle workers to keep beyond demand while the type is active (spare_workers; 0 when absent). */
  spareWorkers?: number;
  /** Whether the type had work (queued, running, or done within idle_timeout): spares follow activity. */
  active?: boolean;
}

export interface ScalePlan {
  desired: number;
  start: number;
  /** How many of `start` are this host's own floor (min_workers): started without asking other hosts. */
  forMin: number;
  /** Spares wanted now (spare_workers while active, else 0): also this host's own, started after demand's. */
  spares: number;
  /** How many idle workers may be drained (the caller picks the ones idle long enough). */
  surplus: number;
}

export function planScale(s: TypeSnapshot): ScalePlan {
  const demand = Math.ceil((s.queued + s.running) / s.maxJobs);
  const spares = s.active ? (s.spareWorkers ?? 0) : 0;
  const desired = Math.min(s.maxWorkers, Math.max(s.minWorkers, demand + spares));
  const start = Math.max(0, Math.min(desired - s.serving, s.maxWorkers - s.live));
  const forMin = Math.max(0, Math.min(start, s.minWorkers - s.serving));
  const surplus = Math.max(0, s.serving - Math.max(s.minWorkers, desired));
  return { desired, start, forMin, spares, surplus };
}

/**
 * When a type last had work, as far as this host can tell: `seenBusy` (a tick that saw jobs
 * queued or running) or the last activity of a worker that has run a job (work that came and
 * went between ticks). A worker that never ran one (a fresh spare) does not keep the type active.
 */
export function lastWorkAt(seenBusy: number | undefined, workers: readonly { jobCount: number; running: number; lastActivity: number }[]): number | undefined {
  let at = seenBusy;
  for (const w of workers) if (w.jobCount > 0 || w.running > 0) at = Math.max(at ?? 0, w.lastActivity);
  return at;
}
