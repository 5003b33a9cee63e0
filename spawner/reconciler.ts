/**
 * The loop that makes the spawner the source of truth for scaling: every tick it
 * looks at queue depths and this host's workers, starts what is missing (spares
 * included while a type is active), drains idle workers beyond min_workers, and
 * samples worker memory. Ticks never overlap.
 */
import type { Redis } from 'ioredis';
import { backoffMs } from '../core/backoff';
import type { Keys } from '../core/keys';
import { withTimeout } from '../core/redis-gate';
import type { Breaker } from './breaker';
import type { SpawnerConfig } from './config';
import { lastWorkAt, planScale } from './scaling';
import type { Supervisor } from './supervisor';
import { createTypeReasons } from './type-reasons';
import { waitingReason } from './waiting-reason';

/** Longest wait between ticks while they fail (Redis down): a Redis that returns is seen within 2 s. */
const MAX_BACKOFF_MS = 2000;

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
  const typeReasons = createTypeReasons({ redis, keys, hostId: config.hostId });
  /** Per type, when a tick last saw it with jobs queued or running (spare_workers follow this). */
  const seenBusy = new Map<string, number>();

  async function tick(): Promise<void> {
    await supervisor.refresh();
    const types = Object.keys(config.types);
    const pipe = redis.pipeline();
    for (const t of types) pipe.zcard(keys.queue(t));
    pipe.hgetall(keys.typeState()).hgetall(keys.typeStateHosts());
    const rows = (await pipe.exec()) ?? [];
    const depths = rows.slice(0, types.length).map(([, n]) => Number(n ?? 0));
    const published = (rows[types.length]?.[1] ?? {}) as Record<string, string>;
    const publishers = (rows[types.length + 1]?.[1] ?? {}) as Record<string, string>;
    const reasons = new Map<string, string | null>();
    const now = deps.now();
    const starts: Promise<void>[] = [];
    types.forEach((type, i) => {
      const cfg = config.types[type]!;
      const all = supervisor.ofType(type);
      const serving = supervisor.serving(type);
      const running = all.reduce((n, w) => n + w.running, 0);
      if ((depths[i] ?? 0) + running > 0) seenBusy.set(type, now);
      const workAt = lastWorkAt(seenBusy.get(type), all);
      const plan = planScale({
        queued: depths[i] ?? 0, running, serving: serving.length, live: all.length,
        maxJobs: cfg.max_jobs, minWorkers: cfg.min_workers, maxWorkers: cfg.max_workers,
        spareWorkers: cfg.spare_workers, active: workAt !== undefined && now - workAt < cfg.idle_timeout * 1000,
      });
      const blocked = plan.start > 0 ? deps.blockedReason?.(type) : undefined;
      reasons.set(type, waitingReason({
        // a worker that reported it cannot start (errored) is about to exit: it makes no one busy
        queued: depths[i] ?? 0, live: all.filter((w) => w.state !== 'errored').length, servingRunning: serving.map((w) => w.running),
        maxWorkers: cfg.max_workers, maxJobs: cfg.max_jobs, wantStart: plan.start, breaker: breaker.state(type), gpuBlocked: blocked, now,
      }));
      if (plan.start > 0 && !stopped && !blocked && breaker.canStart(type, now)) {
        // min_workers is this host's own floor; beyond it, workers start for queued work,
        // each only if no other spawner sharing this Redis has started one for it; then
        // this host's own spares fill what is left of the plan (at most spare_workers).
        starts.push((async () => {
          try {
            let n = 0;
            for (; n < plan.forMin; n++) supervisor.start(type);
            for (; n < plan.start; n++) if (!(await supervisor.startForDemand(type))) break;
            for (let spare = 0; spare < plan.spares && n < plan.start; spare++, n++) supervisor.start(type);
          } catch (err) {
            deps.log('warn', `could not start a ${type} worker: ${err instanceof Error ? err.message : String(err)}`);
          }
        })());
      }
      let surplus = plan.surplus;
      for (const w of serving) {
        if (surplus <= 0) break;
        if (w.state === 'idle' && w.running === 0 && now - w.lastActivity >= cfg.idle_timeout * 1000) {
          surplus--;
          deps.log('info', `draining ${w.id}: idle for ${Math.round((now - w.lastActivity) / 1000)} s (idle_timeout ${cfg.idle_timeout} s)`);
          void supervisor.stop(w, { graceMs: config.drainGraceMs });
        }
      }
    });
    await Promise.all(starts);
    await typeReasons.publish(published, publishers, reasons);
    await deps.extraTick?.();
  }

  /** Ticks failed in a row (Redis down or stalled): the next one waits longer, up to MAX_BACKOFF_MS. */
  let failures = 0;

  function onTickFailed(err: unknown): void {
    failures++;
    // one line when it starts failing, then one every ~20 tries
    if (failures === 1 || failures % 20 === 0) {
      deps.log('warn', `reconcile tick failed (${failures} in a row, retrying with backoff): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  function schedule(): void {
    if (stopped) return;
    const waitMs = failures === 0 ? config.reconcileMs : Math.max(config.reconcileMs, backoffMs(failures, config.reconcileMs, MAX_BACKOFF_MS));
    timer = setTimeout(() => {
      inFlight = tick()
        .then(() => {
          if (failures > 0) deps.log('info', `reconcile ticks work again after ${failures} failed`);
          failures = 0;
        }, onTickFailed)
        .finally(() => {
          inFlight = undefined;
          schedule();
        });
    }, waitMs);
  }

  return {
    tick,
    start() {
      stopped = false;
      schedule();
    },
    /** Stops the loop; waits for a tick under way and takes back this host's reasons, each at most `waitMs`. */
    async stop(waitMs = config.redisTimeoutMs): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      const bounded = (p: Promise<unknown> | undefined) => (p ? withTimeout(p, waitMs, 'reconciler stop') : undefined);
      await bounded(inFlight)?.catch(() => deps.log('warn', `a reconcile tick still waits on Redis after ${waitMs} ms; stopping without it`));
      await bounded(typeReasons.clear())?.catch((err: unknown) => deps.log('warn', `could not take back this host's waiting reasons: ${err instanceof Error ? err.message : String(err)}`));
    },
  };
}
