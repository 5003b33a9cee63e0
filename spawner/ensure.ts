/**
 * `POST /workers/ensure/{type}` (and `kiln ensure <type>`): make sure one worker of a
 * type serves, on any host. A new worker starts only through the same Lua reservation
 * as the reconciler's starts (reserve-worker, with at least one serving worker asked
 * for), so two spawners sharing one Redis never both start one. During the type's
 * crash-loop backoff it refuses and says until when. With `wait`, it answers once the
 * worker is ready, or with why it failed to start.
 */
import type { Breaker } from './breaker';
import type { GpuAllocator } from './gpus';
import type { ManagedWorker, Supervisor } from './supervisor';

export type EnsureAction = 'existing' | 'started' | 'at_capacity' | 'backing_off' | 'waiting_for_gpu' | 'failed_to_start';

export interface EnsureResult {
  action: EnsureAction;
  worker_id: string | null;
  reason?: string;
  /** backing_off: when the next start may happen (ISO 8601). */
  until?: string;
}

export interface EnsureDeps {
  supervisor: Supervisor;
  breaker: Breaker;
  gpus: GpuAllocator;
  now(): number;
}

/** How long `wait` waits for the worker to be ready before it answers anyway. */
export const ENSURE_WAIT_MS = 60_000;

/** Whether an ensure answer means a worker serves (or was started). */
export const ensureOk = (r: EnsureResult): boolean => r.action === 'existing' || r.action === 'started';

export function createEnsure(deps: EnsureDeps) {
  const { supervisor, breaker } = deps;

  /** Resolves once `w` is ready (true) or has exited (false), or after `ms` (true: it still starts). */
  async function readyOrExited(w: ManagedWorker, ms: number): Promise<boolean> {
    let exited = false;
    void w.done.then(() => { exited = true; });
    const until = deps.now() + ms;
    while (!exited && w.state === 'starting' && deps.now() < until) await new Promise((r) => setTimeout(r, 25));
    // a worker that exited is gone from the supervisor's map; its done settles after the breaker saw it.
    // One that reported it cannot start is errored until its exit is handled.
    if (exited || w.state === 'errored' || !supervisor.workers.has(w.id)) {
      await w.done;
      return false;
    }
    return true;
  }

  return async function ensure(type: string, opts: { wait?: boolean } = {}): Promise<EnsureResult> {
    const cfg = supervisor.typeConfig(type);
    const existing = supervisor.serving(type)[0];
    if (existing) return { action: 'existing', worker_id: existing.id };
    if (supervisor.ofType(type).length >= cfg.max_workers) return { action: 'at_capacity', worker_id: null };
    const noGpu = cfg.gpu ? deps.gpus.blockedReason(Math.max(1, cfg.gpus_per_worker)) : undefined;
    if (noGpu) return { action: 'waiting_for_gpu', worker_id: null, reason: noGpu };
    const state = breaker.state(type);
    if (!breaker.canStart(type, deps.now())) {
      const until = new Date(state.nextStartAt).toISOString();
      return { action: 'backing_off', worker_id: null, until, reason: `restarts of ${type} back off until ${until}${state.reason ? `: ${state.reason}` : ''}` };
    }
    const w = await supervisor.startForDemand(type, { atLeastOne: true });
    if (!w) {
      // another host's worker serves the type (the reservation counted it)
      return { action: 'existing', worker_id: null, reason: 'a worker on another host serves this type' };
    }
    if (opts.wait && !(await readyOrExited(w, ENSURE_WAIT_MS))) {
      return { action: 'failed_to_start', worker_id: w.id, reason: breaker.state(type).reason ?? 'the worker exited before it was ready' };
    }
    return { action: 'started', worker_id: w.id };
  };
}

export type Ensure = ReturnType<typeof createEnsure>;
