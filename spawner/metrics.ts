/**
 * The spawner's Prometheus registry (GET /metrics). Queue depth is read from Redis
 * at scrape time, so it is global; everything else is this host's: its workers
 * (state, RSS), their starts, and the job counts they report in their `stats`
 * messages once per heartbeat (no per-job message, no per-job Redis write).
 */
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { COLD_START_BUCKETS, JOB_OUTCOMES, JOB_SECONDS_BUCKETS, type JobStatsDelta } from '../core/job-stats';
import type { Keys } from '../core/keys';
import type { RedisGate } from '../core/redis-gate';
import { BucketHistogram } from './bucket-histogram';
import type { ManagedWorker } from './supervisor';

/** What the supervisor (and recovery) report as it happens. */
export interface WorkerMetricsSink {
  /** A worker reported ready after `seconds` since its spawn. */
  workerReady(type: string, seconds: number): void;
  /** A worker's stats delta (job outcomes, run times, queue waits, dropped log lines). */
  workerStats(type: string, delta: JobStatsDelta): void;
  /** Jobs held by a worker that died, given back (or failed) by the spawner. */
  jobsLost(type: string, count: number): void;
  /** Queued jobs this host's reconcile loop ended `expired` (their queued TTL passed before a start). */
  jobsExpired(type: string, count: number): void;
  /** A worker that could not start: its launch threw, it failed to start, or it died before ready. */
  spawnFailure(type: string, reason: string): void;
}

export const WORKER_STATES = ['starting', 'idle', 'busy', 'draining', 'stopping', 'errored'] as const;

export interface SpawnerMetricsDeps {
  redis: Redis;
  /** Redis' state as last seen (kiln_redis_up); while in trouble, queue depths are not read. */
  redisGate?: Pick<RedisGate, 'usable'>;
  keys: Keys;
  /** This host's configured worker types (their series exist from the start, at zero). */
  types: readonly string[];
  /** This host's live workers, read at scrape time. */
  workers(): Iterable<ManagedWorker>;
  log(level: 'warn', message: string): void;
}

function workerState(w: ManagedWorker): (typeof WORKER_STATES)[number] {
  if (w.state !== 'idle') return w.state;
  return w.running > 0 ? 'busy' : 'idle';
}

export function createSpawnerMetrics(deps: SpawnerMetricsDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const byType = <T>(init: () => T) => new Map(deps.types.map((t) => [t, init()]));

  new Gauge({
    name: 'kiln_queue_depth',
    help: 'Jobs waiting in the queue of each registered worker type, across every host (from Redis).',
    labelNames: ['worker_type'],
    registers: [registry],
    async collect() {
      this.reset();
      if (deps.redisGate && !(await deps.redisGate.usable()).ok) return;
      try {
        const types = await deps.redis.hkeys(deps.keys.types());
        const pipe = deps.redis.pipeline();
        for (const t of types) pipe.zcard(deps.keys.queue(t));
        const rows = (await pipe.exec()) ?? [];
        types.forEach((t, i) => this.set({ worker_type: t }, Number(rows[i]?.[1] ?? 0)));
      } catch (err) {
        deps.log('warn', `metrics: could not read queue depths from Redis: ${String(err)}`);
      }
    },
  });

  if (deps.redisGate) {
    const gate = deps.redisGate;
    new Gauge({
      name: 'kiln_redis_up',
      help: "1 when this spawner's Redis takes writes, 0 while it is unreachable, stalled or out of memory (its routes answer 503 then).",
      registers: [registry],
      async collect() {
        this.set((await gate.usable()).ok ? 1 : 0);
      },
    });
  }

  new Gauge({
    name: 'kiln_workers',
    help: 'Worker processes of this host by type and state.',
    labelNames: ['worker_type', 'state'],
    registers: [registry],
    collect() {
      const counts = byType(() => Object.fromEntries(WORKER_STATES.map((s) => [s, 0])) as Record<string, number>);
      for (const w of deps.workers()) {
        const c = counts.get(w.type) ?? counts.set(w.type, Object.fromEntries(WORKER_STATES.map((s) => [s, 0]))).get(w.type)!;
        c[workerState(w)]! += 1;
      }
      this.reset();
      for (const [type, c] of counts) for (const [state, n] of Object.entries(c)) this.set({ worker_type: type, state }, n);
    },
  });

  new Gauge({
    name: 'kiln_worker_rss_bytes',
    help: "Resident memory of this host's workers by type, each worker's whole process tree (runner included).",
    labelNames: ['worker_type'],
    registers: [registry],
    collect() {
      const rss = byType(() => 0);
      for (const w of deps.workers()) rss.set(w.type, (rss.get(w.type) ?? 0) + w.proc.sampleRss());
      this.reset();
      for (const [type, bytes] of rss) this.set({ worker_type: type }, bytes);
    },
  });

  const jobs = new Counter({
    name: 'kiln_jobs_total',
    help: "Finished job attempts on this host's workers by outcome: succeeded, failed (for good), retried (failed, queued again), cancelled, lost (its worker died); and expired: queued jobs this host ended unstarted past their queued TTL.",
    labelNames: ['worker_type', 'outcome'],
    registers: [registry],
  });
  const spawnFailures = new Counter({
    name: 'kiln_spawn_failures_total',
    help: 'Workers of this host that did not start: launch_error, crashed_before_ready, or the failed-to-start code (framework_missing, version_mismatch, …).',
    labelNames: ['worker_type', 'reason'],
    registers: [registry],
  });
  const logDrops = new Counter({
    name: 'kiln_job_log_lines_dropped_total',
    help: "Job log lines this host's workers dropped (log store full or unreachable).",
    labelNames: ['worker_type'],
    registers: [registry],
  });
  const cacheCounter = (name: string, help: string) => new Counter({ name, help, labelNames: ['worker_type'], registers: [registry] });
  const modelCache = {
    hits: cacheCounter('kiln_model_cache_hits_total', "Inference jobs on this host's Python workers whose model was already loaded in the runner's cache."),
    misses: cacheCounter('kiln_model_cache_misses_total', "Model cache lookups on this host's Python workers that had to load the model."),
    evictions: cacheCounter('kiln_model_cache_evictions_total', 'Models dropped from a runner\'s cache to stay within model_cache_size / model_cache_mb.'),
    load_seconds: cacheCounter('kiln_model_cache_load_seconds_total', 'Time runners spent loading models on cache misses.'),
  };
  const coldStart = new BucketHistogram('kiln_cold_start_seconds', "This host's worker starts: spawn → ready (Redis connected, framework imported).", COLD_START_BUCKETS, registry);
  const duration = new BucketHistogram('kiln_job_duration_seconds', 'Job attempts on this host: claim → finish.', JOB_SECONDS_BUCKETS, registry);
  const queueWait = new BucketHistogram('kiln_queue_wait_seconds', 'Jobs claimed on this host: queued (submit, retry or end of backoff) → claim.', JOB_SECONDS_BUCKETS, registry);

  for (const t of deps.types) {
    const worker_type = t;
    for (const outcome of JOB_OUTCOMES) jobs.inc({ worker_type, outcome }, 0);
    logDrops.inc({ worker_type }, 0);
    for (const h of [coldStart, duration, queueWait]) h.zero({ worker_type });
  }

  const sink: WorkerMetricsSink = {
    workerReady(type, seconds) {
      coldStart.observe({ worker_type: type }, Math.max(0, seconds));
    },
    workerStats(type, delta) {
      const worker_type = type;
      for (const [outcome, n] of Object.entries(delta.jobs)) if (n) jobs.inc({ worker_type, outcome }, n);
      duration.merge({ worker_type }, delta.duration);
      queueWait.merge({ worker_type }, delta.queue_wait);
      if (delta.log_lines_dropped > 0) logDrops.inc({ worker_type }, delta.log_lines_dropped);
      const cache = delta.model_cache;
      if (cache) {
        for (const k of ['hits', 'misses', 'evictions'] as const) modelCache[k].inc({ worker_type }, cache[k]);
        modelCache.load_seconds.inc({ worker_type }, cache.load_ms / 1000);
      }
    },
    jobsLost(type, count) {
      if (count > 0) jobs.inc({ worker_type: type, outcome: 'lost' }, count);
    },
    jobsExpired(type, count) {
      if (count > 0) jobs.inc({ worker_type: type, outcome: 'expired' }, count);
    },
    spawnFailure(type, reason) {
      spawnFailures.inc({ worker_type: type, reason });
    },
  };

  return { registry, sink };
}

export type SpawnerMetrics = ReturnType<typeof createSpawnerMetrics>;
