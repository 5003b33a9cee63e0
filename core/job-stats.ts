/**
 * Job outcome and timing counts a worker aggregates in memory and hands its
 * spawner as deltas (the `stats` IPC message, once per heartbeat): no per-job
 * message and no per-job Redis write. The bucket bounds are shared with the
 * spawner's Prometheus histograms, so merged counts land in the same buckets.
 */
import { z } from 'zod';

/** Job run time and queue wait, in seconds (Prometheus `le` bounds). */
export const JOB_SECONDS_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Worker start (spawn → ready), in seconds. */
export const COLD_START_BUCKETS: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60];

/** `expired` is counted by the spawner that expires a queued job, never by a worker. */
export const JOB_OUTCOMES = ['succeeded', 'failed', 'retried', 'cancelled', 'lost', 'expired'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** Observations per bucket (not cumulative; the last slot is +Inf), their sum and count. */
export const bucketCountsSchema = z.object({
  counts: z.array(z.number().int().nonnegative()),
  sum: z.number(),
  count: z.number().int().nonnegative(),
});
export type BucketCounts = z.infer<typeof bucketCountsSchema>;

export const emptyBuckets = (bounds: readonly number[]): BucketCounts => ({ counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 });

export function observe(into: BucketCounts, bounds: readonly number[], value: number): void {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  into.counts[i] = (into.counts[i] ?? 0) + 1;
  into.sum += value;
  into.count++;
}

/** Adds `delta` into `into` (both over the same bounds). */
export function mergeBuckets(into: BucketCounts, delta: BucketCounts): void {
  for (let i = 0; i < into.counts.length; i++) into.counts[i] = (into.counts[i] ?? 0) + (delta.counts[i] ?? 0);
  into.sum += delta.sum;
  into.count += delta.count;
}

/** A Python runner's model cache (kiln_runner/models.py): counts since the previous report. */
export const modelCacheCountsSchema = z.object({
  hits: z.number().int().nonnegative(),
  misses: z.number().int().nonnegative(),
  evictions: z.number().int().nonnegative(),
  loads: z.number().int().nonnegative(),
  /** Time spent in loaders, ms. */
  load_ms: z.number().nonnegative(),
});
export type ModelCacheCounts = z.infer<typeof modelCacheCountsSchema>;

const noModelCache = (): ModelCacheCounts => ({ hits: 0, misses: 0, evictions: 0, loads: 0, load_ms: 0 });

/** A worker's sum of its runner's model cache reports; `take()` returns it and starts again (undefined: nothing). */
export function createModelCacheCounts() {
  let sum = noModelCache();
  return {
    add(delta: ModelCacheCounts): void {
      for (const k of Object.keys(sum) as (keyof ModelCacheCounts)[]) sum[k] += delta[k];
    },
    take(): ModelCacheCounts | undefined {
      if (sum.hits + sum.misses + sum.evictions + sum.loads === 0) return undefined;
      const out = sum;
      sum = noModelCache();
      return out;
    },
  };
}

/** What a worker reports per heartbeat: counts since its previous report. */
export const jobStatsDeltaSchema = z.object({
  jobs: z.partialRecord(z.enum(JOB_OUTCOMES), z.number().int().nonnegative()),
  /** Claim → finish of each finished attempt, seconds. */
  duration: bucketCountsSchema,
  /** Queued (or requeued) → claim of each claimed job, seconds. */
  queue_wait: bucketCountsSchema,
  log_lines_dropped: z.number().int().nonnegative(),
  /** Python workers whose runner used its model cache since the last report. */
  model_cache: modelCacheCountsSchema.optional(),
});
export type JobStatsDelta = z.infer<typeof jobStatsDeltaSchema>;

/** A worker's accumulator; `take()` returns what was counted since the last take (undefined: nothing). */
export function createJobStats(droppedLogLines: () => number = () => 0, modelCache: () => ModelCacheCounts | undefined = () => undefined) {
  let jobs: Partial<Record<JobOutcome, number>> = {};
  let duration = emptyBuckets(JOB_SECONDS_BUCKETS);
  let wait = emptyBuckets(JOB_SECONDS_BUCKETS);
  let droppedBefore = 0;
  return {
    claimed(waitMs: number): void {
      observe(wait, JOB_SECONDS_BUCKETS, Math.max(0, waitMs) / 1000);
    },
    finished(outcome: JobOutcome, runMs: number): void {
      jobs[outcome] = (jobs[outcome] ?? 0) + 1;
      observe(duration, JOB_SECONDS_BUCKETS, Math.max(0, runMs) / 1000);
    },
    take(): JobStatsDelta | undefined {
      const dropped = droppedLogLines();
      const droppedDelta = Math.max(0, dropped - droppedBefore);
      const cache = modelCache();
      if (duration.count === 0 && wait.count === 0 && droppedDelta === 0 && !cache) return undefined;
      const out: JobStatsDelta = { jobs, duration, queue_wait: wait, log_lines_dropped: droppedDelta, ...(cache && { model_cache: cache }) };
      droppedBefore = dropped;
      jobs = {};
      duration = emptyBuckets(JOB_SECONDS_BUCKETS);
      wait = emptyBuckets(JOB_SECONDS_BUCKETS);
      return out;
    },
  };
}

export type JobStats = ReturnType<typeof createJobStats>;
