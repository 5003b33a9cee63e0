/**
 * Part of the reconcile tick: queued jobs whose queued TTL (queued_ttl_s) passed
 * before they ever started end `expired`. One bounded script call per tick reads
 * only the due entries of the expiry index; several spawners may run it at once.
 */
import type { JobStore } from '../core/job-store';
import type { WorkerMetricsSink } from './metrics';

export function createQueueExpiry(deps: {
  store: Pick<JobStore, 'expireQueued'>;
  now(): number;
  log(level: 'info', message: string): void;
  metrics?: Pick<WorkerMetricsSink, 'jobsExpired'>;
  /** Index entries read per tick (default 500); more wait for the next tick. */
  batch?: number;
}) {
  return {
    async tick(): Promise<number> {
      const expired = await deps.store.expireQueued(deps.now(), deps.batch ?? 500);
      if (expired.length === 0) return 0;
      const byType = new Map<string, number>();
      for (const { type } of expired) byType.set(type, (byType.get(type) ?? 0) + 1);
      for (const [type, n] of byType) {
        deps.metrics?.jobsExpired(type, n);
        deps.log('info', `expired ${n} queued ${type} job(s) that did not start within their queued_ttl_s`);
      }
      return expired.length;
    },
  };
}
