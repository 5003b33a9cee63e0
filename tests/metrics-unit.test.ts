/** The pure parts of metrics and status: job stats deltas, merged histograms, waiting reasons. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createJobStats, JOB_SECONDS_BUCKETS } from '../core/job-stats';
import { jobTimings, type JobRecord } from '../core/schemas/job';
import { BucketHistogram } from '../spawner/bucket-histogram';
import { waitingReason, type TypeWaitSnapshot } from '../spawner/waiting-reason';

describe('job stats', () => {
  it('hands out deltas: each take() returns what was counted since the last one', () => {
    let dropped = 0;
    const stats = createJobStats(() => dropped);
    expect(stats.take()).toBeUndefined();
    stats.claimed(20);
    stats.finished('succeeded', 3);
    stats.finished('succeeded', 2000);
    stats.finished('retried', 40);
    dropped = 5;
    const d = stats.take()!;
    expect(d.jobs).toEqual({ succeeded: 2, retried: 1 });
    expect(d.duration.count).toBe(3);
    expect(d.duration.sum).toBeCloseTo(2.043);
    expect(d.duration.counts).toHaveLength(JOB_SECONDS_BUCKETS.length + 1);
    expect(d.duration.counts[JOB_SECONDS_BUCKETS.indexOf(0.005)]).toBe(1);
    expect(d.duration.counts[JOB_SECONDS_BUCKETS.indexOf(2.5)]).toBe(1);
    expect(d.queue_wait).toMatchObject({ count: 1, sum: 0.02 });
    expect(d.log_lines_dropped).toBe(5);
    expect(stats.take()).toBeUndefined();
    dropped = 7;
    expect(stats.take()).toMatchObject({ jobs: {}, log_lines_dropped: 2 });
  });

  it('merged bucket counts render as a Prometheus histogram', async () => {
    const registry = new Registry();
    const h = new BucketHistogram('t_seconds', 'test', [0.1, 1], registry);
    h.observe({ worker_type: 'node' }, 0.05);
    expect(h.merge({ worker_type: 'node' }, { counts: [0, 2, 1], sum: 7.5, count: 3 })).toBe(true);
    expect(h.merge({ worker_type: 'node' }, { counts: [1], sum: 0, count: 1 })).toBe(false);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{worker_type="node",le="0.1"} 1');
    expect(text).toContain('t_seconds_bucket{worker_type="node",le="1"} 3');
    expect(text).toContain('t_seconds_bucket{worker_type="node",le="+Inf"} 4');
    expect(text).toContain('t_seconds_sum{worker_type="node"} 7.55');
    expect(text).toContain('t_seconds_count{worker_type="node"} 4');
  });
});

describe('waiting reasons', () => {
  const base: TypeWaitSnapshot = {
    queued: 1, live: 1, servingRunning: [1], maxWorkers: 1, maxJobs: 1, wantStart: 0,
    breaker: { failures: 0, nextStartAt: 0, reason: null, errored: false }, gpuBlocked: undefined, now: 1_000,
  };
  it('names the first thing that holds the work back, or null', () => {
    expect(waitingReason(base)).toBe('at max_workers (1 of 1 workers busy)');
    expect(waitingReason({ ...base, queued: 0 })).toBeNull();
    expect(waitingReason({ ...base, servingRunning: [0] })).toBeNull();
    expect(waitingReason({ ...base, maxWorkers: 2 })).toBeNull();
    expect(waitingReason({ ...base, live: 0, servingRunning: [], wantStart: 1, gpuBlocked: 'no free GPU: all 1 GPU(s) are held by other workers' })).toBe('no free GPU: all 1 GPU(s) are held by other workers');
    const backoff = { failures: 1, nextStartAt: 61_000, reason: 'crashed', errored: false };
    expect(waitingReason({ ...base, live: 0, servingRunning: [], wantStart: 1, breaker: backoff })).toBe(`breaker backoff until ${new Date(61_000).toISOString()} (crashed)`);
    expect(waitingReason({ ...base, breaker: { ...backoff, errored: true, reason: 'python not found' } })).toBe('type errored: python not found');
    // nothing waits (its only job was cancelled): no reason, errored or not
    expect(waitingReason({ ...base, queued: 0, breaker: { ...backoff, errored: true, reason: 'python not found' } })).toBeNull();
  });
});

describe('job timings', () => {
  const job = (over: Partial<JobRecord>): JobRecord => ({
    id: 'j', seq: 1, type: 'node', kind: 'function', payload: null, status: 'succeeded', priority: 0, attempts: 1, max_attempts: 3,
    timeout_ms: 0, progress: 1, created_at: 1000, started_at: 1100, finished_at: 1150, ...over,
  });
  it('counts from the last time the job was queued, and shows a cold start only for its own attempt', () => {
    const cold = { spawn_ms: 40, runtime_ready_ms: 30, framework_import_ms: null, total_ms: 80 };
    expect(jobTimings(job({ cold_start: cold, cold_start_attempt: 1 }))).toEqual({ queue_wait_ms: 100, run_ms: 50, cold_start: cold });
    expect(jobTimings(job({ attempts: 2, queued_at: 1090, cold_start: cold, cold_start_attempt: 1 }))).toEqual({ queue_wait_ms: 10, run_ms: 50, cold_start: null });
    expect(jobTimings(job({ status: 'running', finished_at: undefined }))).toEqual({ queue_wait_ms: 100, run_ms: null, cold_start: null });
    // queued again after an attempt: that attempt's stamps are not this one's
    expect(jobTimings(job({ status: 'queued', queued_at: 1200, finished_at: undefined }))).toEqual({ queue_wait_ms: null, run_ms: null, cold_start: null });
    expect(jobTimings(job({ status: 'cancelled', queued_at: 1200, finished_at: 1300 }))).toEqual({ queue_wait_ms: null, run_ms: null, cold_start: null });
  });
});
