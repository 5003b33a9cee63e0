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
}

export interface ScalePlan {
  desired: number;
  start: number;
  /** How many idle workers may be drained (the caller picks the ones idle long enough). */
  surplus: number;
}

export function planScale(s: TypeSnapshot): ScalePlan {
  const demand = Math.ceil((s.queued + s.running) / s.maxJobs);
  const desired = Math.min(s.maxWorkers, Math.max(s.minWorkers, demand));
  const start = Math.max(0, Math.min(desired - s.serving, s.maxWorkers - s.live));
  const surplus = Math.max(0, s.serving - Math.max(s.minWorkers, desired));
  return { desired, start, surplus };
}
