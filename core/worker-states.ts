/**
 * The one status enum of a worker record and its legal transitions, written down
 * once. The WorkerStore passes, for each status change, the statuses it may come
 * from (built here) to core/lua/worker-transition.lua, which refuses any other;
 * the fixed sets inside the claim/settle/reserve fragments are checked against
 * this table by tests/worker-store.test.ts.
 */
export const WORKER_STATUSES = ['starting', 'idle', 'busy', 'draining', 'stopping', 'errored', 'exited'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/** A record that does not exist yet (or any more): the "from" of a registration. */
export const NO_RECORD = 'none';

/** from → the statuses it may move to. Nothing leaves `exited`. */
export const WORKER_TRANSITIONS: Readonly<Record<WorkerStatus | typeof NO_RECORD, readonly WorkerStatus[]>> = {
  // registered by the spawner that starts it (or reserved first by reserve-worker.lua)
  none: ['starting'],
  // starting → starting: the start record completes a reservation
  starting: ['starting', 'idle', 'busy', 'draining', 'stopping', 'errored', 'exited'],
  // idle ⇄ busy as jobs are claimed and finished (claim-job / complete-job / fail-job)
  idle: ['idle', 'busy', 'draining', 'stopping', 'exited'],
  busy: ['busy', 'idle', 'draining', 'stopping', 'exited'],
  // asked to finish its jobs and leave; then signalled
  draining: ['stopping', 'exited'],
  stopping: ['exited'],
  // reported that it could not start; the spawner then records its exit
  errored: ['stopping', 'exited'],
  exited: [],
};

/** Statuses of a worker that serves its queue (counted by reserve-worker.lua). */
export const SERVING_STATUSES: readonly WorkerStatus[] = ['starting', 'idle', 'busy'];

/** Every status a record may be in when it moves to `to` (NO_RECORD included where legal). */
export function allowedFrom(to: WorkerStatus): string[] {
  return Object.entries(WORKER_TRANSITIONS).filter(([, tos]) => tos.includes(to)).map(([from]) => from);
}

/** Statuses of a record that is still live (anything but exited): field updates and heartbeats apply only there. */
export const LIVE_STATUSES: readonly WorkerStatus[] = WORKER_STATUSES.filter((s) => s !== 'exited');

export const canTransition = (from: WorkerStatus | typeof NO_RECORD, to: WorkerStatus): boolean => WORKER_TRANSITIONS[from].includes(to);
