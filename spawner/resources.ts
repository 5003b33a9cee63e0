/**
 * Per-tick resource accounting: the RSS of each worker's whole process tree
 * (worker, Python runner, anything a job started), the memory limit, and
 * recycling workers whose idle memory has grown too much (recycling after N jobs
 * is the worker's own doing: it stops claiming).
 */
import type { WorkerStore } from '../core/worker-store';
import { sampleGpuMemory } from './gpus';
import type { Supervisor } from './supervisor';

const MiB = 1024 * 1024;

export function createResourceWatch(deps: {
  workerStore: Pick<WorkerStore, 'sample'>;
  supervisor: Supervisor;
  drainGraceMs: number;
  /** Sample per-worker GPU memory with nvidia-smi (every 10th tick). */
  sampleGpus: boolean;
  log(level: 'info' | 'warn', message: string): void;
}) {
  let ticks = 0;
  /** RSS when each worker became ready and idle: the baseline of memory growth. */
  const baseline = new Map<string, number>();

  return {
    async tick(): Promise<void> {
      const writes: Promise<unknown>[] = [];
      for (const w of deps.supervisor.workers.values()) {
        if (w.state === 'stopping') continue;
        const rss = w.proc.sampleRss();
        if (rss === 0) continue;
        writes.push(deps.workerStore.sample(w, { rss_bytes: rss }));
        const cfg = w.config;
        if (cfg.memory_mb && rss > cfg.memory_mb * MiB) { // 0: no limit
          const detail = `memory limit exceeded (peak ${Math.round(w.proc.peakRssBytes() / MiB)} MiB > limit ${cfg.memory_mb} MiB)`;
          deps.log('warn', `${w.id}: ${detail}; killing it`);
          deps.supervisor.kill(w, { kind: 'killed-memory', detail });
          continue;
        }
        if (w.state !== 'idle') continue;
        if (w.running === 0) {
          const base = baseline.get(w.id);
          if (base === undefined) baseline.set(w.id, rss);
          else if (cfg.recycle_rss_growth_mb !== undefined && rss - base > cfg.recycle_rss_growth_mb * MiB) {
            const grown = Math.round((rss - base) / MiB);
            deps.log('info', `${w.id}: recycling, idle memory grew ${grown} MiB since ready (recycle_rss_growth_mb ${cfg.recycle_rss_growth_mb})`);
            void deps.supervisor.stop(w, { graceMs: deps.drainGraceMs, reason: { kind: 'stopped', by: `recycle: idle RSS grew ${grown} MiB` } });
          }
        }
      }
      for (const id of baseline.keys()) if (!deps.supervisor.workers.has(id)) baseline.delete(id);
      const gpuWorkers = [...deps.supervisor.workers.values()].filter((w) => w.gpu !== undefined);
      if (deps.sampleGpus && gpuWorkers.length > 0 && ticks++ % 10 === 0) {
        const used = await sampleGpuMemory();
        for (const w of gpuWorkers) {
          const mb = w.proc.treePids().reduce((n, pid) => n + (used.get(pid) ?? 0), 0);
          writes.push(deps.workerStore.sample(w, { gpu_memory_mb: mb }));
        }
      }
      // a failed sample fails the tick, which the reconciler logs (the store retried it first)
      await Promise.all(writes);
    },
  };
}
