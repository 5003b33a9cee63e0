/**
 * A worker's exit, handled for the supervisor: why it ended, its jobs given back,
 * its record marked exited (WorkerStore), its folder removed, the breaker, metrics
 * and the console told.
 */
import { rmSync } from 'node:fs';
import { withTimeout } from '../core/redis-gate';
import { exitFields, exitJobError } from './exit-record';
import { describeExit, type ExitInfo, type ExitReason } from './exit-reason';
import type { ManagedWorker, SupervisorDeps } from './supervisor';
import { logWorkerExit } from './worker-console';

export function createExitHandler(x: {
  deps: SupervisorDeps;
  scrubFor(w: ManagedWorker): (s: string) => string;
  emit(w: ManagedWorker, status: string, extra?: Record<string, string | number>): void;
}) {
  const { deps, scrubFor, emit } = x;
  /** Types last logged as errored: the console gets one line per change, not per exit. */
  const erroredTypes = new Set<string>();

  /** One console line when a type turns errored or recovers (the reconciler publishes the reason). */
  function logTypeState(type: string): void {
    const s = deps.breaker.state(type);
    const errored = Boolean(s.errored && s.reason);
    if (errored === erroredTypes.has(type)) return;
    if (errored) erroredTypes.add(type);
    else erroredTypes.delete(type);
    if (errored) deps.log('error', `worker type ${type} errored: ${s.reason}`, { worker_type: type, state: 'errored' });
    else deps.log('info', `worker type ${type} recovered: a worker ran stably`, { worker_type: type, state: 'ok' });
  }


  return async function handleExit(w: ManagedWorker, code: number | null, signal: string | null, recorded: () => void): Promise<void> {
    const now = deps.now();
    const reason: ExitReason = w.startError
      ? { kind: 'failed-to-start', ...w.startError }
      : w.endReason ?? (w.state === 'draining' && code === 0 ? { kind: 'drained' } : { kind: 'crashed', code, signal });
    // what is stored for views carries no env value or interpreter path of the type, nor the state folder's path
    // (the host's own console keeps them: rawTail, rawMessage)
    const scrub = scrubFor(w);
    const rawTail = w.proc.stderrTail();
    const info: ExitInfo = {
      reason, code, signal, stderrTail: rawTail.map(scrub), uptimeMs: now - w.createdAt,
      peakRssMb: w.proc.peakRssBytes() > 0 ? Math.round(w.proc.peakRssBytes() / 1048576) : undefined,
    };
    const rawMessage = describeExit(info);
    const message = scrub(rawMessage);
    emit(w, 'exited', { reason: reason.kind, message, ...(code !== null && { code }), ...(signal && { signal }) });
    try {
      // Bounded, so that a stop never waits on a Redis that does not answer: what is
      // left undone here, the lease sweep (of this run or the next) does.
      await withTimeout((async () => {
        const r = await deps.store.requeueWorker(w.id, w.type, exitJobError(info, message, w.id, now), { now });
        if (r.requeued + r.failed > 0) deps.log('warn', `${message}: ${w.id} held ${r.requeued + r.failed} job(s); requeued ${r.requeued}, failed ${r.failed}`);
        deps.metrics?.jobsLost(w.type, r.requeued + r.failed);
        await deps.workerStore.exited(w, exitFields(info, message, now));
      })(), 2 * deps.config.redisTimeoutMs, 'exit record');
    } catch (err) {
      deps.log('error', `could not requeue the jobs of ${w.id} or record its exit: ${err instanceof Error ? err.message : String(err)}; the lease sweep will`, { worker_id: w.id });
    } finally {
      recorded();
    }
    rmSync(w.workdir, { recursive: true, force: true });
    const unexpected = reason.kind === 'crashed' || reason.kind === 'failed-to-start';
    logWorkerExit(deps.log, w, { ...info, stderrTail: rawTail }, rawMessage);
    if (reason.kind === 'failed-to-start') deps.metrics?.spawnFailure(w.type, reason.code.toLowerCase());
    else if (reason.kind === 'crashed' && w.readyAt === undefined) deps.metrics?.spawnFailure(w.type, 'crashed_before_ready');
    if (unexpected) {
      deps.breaker.recordExit(w.type, info.uptimeMs, reason.kind === 'failed-to-start', message, now);
    } else if (info.uptimeMs >= deps.breaker.opts.youngMs) {
      deps.breaker.recordStable(w.type);
    }
    logTypeState(w.type);
    deps.onExit?.(w, info);
  };
}
