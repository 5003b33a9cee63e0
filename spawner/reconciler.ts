/**
 * The loop that makes the spawner the source of truth for scaling: every tick it
 * looks at queue depths and this host's workers, starts what is missing, drains
 * idle workers beyond min_workers, and samples worker memory. Ticks never overlap.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys';
import type { Breaker } from './breaker';
import type { SpawnerConfig } from './config';
import { planScale } from './scaling';
import type { Supervisor } from './supervisor';

export interface ReconcilerDeps {
  config: SpawnerConfig;
  redis: Redis;
  keys: Keys;
  supervisor: Supervisor;
  breaker: Breaker;
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Extra work per tick (lease sweep, delayed jobs…), run after scaling. */
  extraTick?(): Promise<void>;
  /** Whether a worker of this type may start now (GPU available…); a reason when not. */
  blockedReason?(type: string): string | undefined;
}

export function createReconciler(deps: ReconcilerDeps) {
  const { config, redis, keys, supervisor, breaker } = deps;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  /** Types whose waiting reason (no GPU…) is published in type-state. */
  const blockedTypes = new Set<string>();

  async function tick(): Promise<void> {
    await supervisor.refresh();
    const types = Object.keys(config.types);
    const pipe = redis.pipeline();
    for (const t of types) pipe.zcard(keys.queue(t));
    const depths = ((await pipe.exec()) ?? []).map(([, n]) => Number(n ?? 0));
    const now = deps.now();
    const starts: Promise<void>[] = [];
    types.forEach((type, i) => {
      const cfg = config.types[type]!;
      const all = supervisor.ofType(type);
      const serving = supervisor.serving(type);
      const running = all.reduce((n, w) => n + w.running, 0);
      const plan = planScale({
        queued: depths[i] ?? 0, running, serving: serving.length, live: all.length,
        maxJobs: cfg.max_jobs, minWorkers: cfg.min_workers, maxWorkers: cfg.max_workers,
      });
      const blocked = plan.start > 0 ? deps.blockedReason?.(type) : undefined;
      if (blocked) {
        if (!blockedTypes.has(type)) void redis.hset(keys.typeState(), type, blocked).catch(() => {});
        blockedTypes.add(type);
      } else if (blockedTypes.delete(type)) {
        void supervisor.publishTypeState(type).catch(() => {});
      }
      if (plan.start > 0 && !stopped && !blocked && breaker.canStart(type, now)) {
        // min_workers is this host's own floor; beyond it, workers start for queued work,
        // each only if no other spawner sharing this Redis has started one for it.
        const forMin = Math.max(0, Math.min(plan.start, cfg.min_workers - serving.length));
        starts.push((async () => {
          try {
            for (let n = 0; n < forMin; n++) supervisor.start(type);
            for (let n = forMin; n < plan.start; n++) if (!(await supervisor.startForDemand(type))) break;
          } catch (err) {
            deps.log('warn', `could not start a ${type} worker: ${err instanceof Error ? err.message : String(err)}`);
          }
        })());
      }
      let surplus = plan.surplus;
      for (const w of serving) {
        if (surplus <= 0) break;
        if (w.state === 'ready' && w.running === 0 && now - w.lastActivity >= cfg.idle_timeout * 1000) {
          surplus--;
          deps.log('info', `draining ${w.id}: idle for ${Math.round((now - w.lastActivity) / 1000)} s (idle_timeout ${cfg.idle_timeout} s)`);
          void supervisor.stop(w, { graceMs: config.drainGraceMs });
        }
      }
    });
    await Promise.all(starts);
    await deps.extraTick?.();
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = tick()
        .catch((err: unknown) => deps.log('warn', `reconcile tick failed: ${String(err)}`))
        .finally(() => {
          inFlight = undefined;
          schedule();
        });
    }, config.reconcileMs);
  }

  return {
    tick,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
