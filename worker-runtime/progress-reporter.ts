/**
 * A running job's progress reports on their way to Redis: at most one write per
 * THROTTLE_MS per job. A write carries every point that had metrics since the last
 * write (a fast training loop loses no epoch of its curve to the throttle) plus the
 * newest point; points with only a value and a message are coalesced to the newest.
 * `settle()` writes what is pending; the worker calls it before recording the result.
 */
import type { JobStore } from '../core/job-store';
import { type DroppedMetric, droppedMetricsWarning, type ProgressMetrics, type ProgressPoint, sanitizeMetrics } from '../core/schemas/progress';

export const THROTTLE_MS = 100;
/** Points held between two writes; past this the buffer keeps every other point. */
export const MAX_BUFFERED_POINTS = 512;

export interface ProgressReporterDeps {
  jobId: string;
  workerId: string;
  store: Pick<JobStore, 'progress'>;
  now(): number;
  /** A line for the job's log: what was wrong with the metrics it reported. */
  warn(message: string): void;
  /** A progress write failed (Redis unreachable): logged, never thrown. */
  writeFailed(message: string): void;
}

export interface ProgressReporter {
  report(value: number, message?: string, metrics?: ProgressMetrics): void;
  settle(): Promise<void>;
}

/** Every other point, keeping the newest. */
export function thinPoints(points: readonly ProgressPoint[]): ProgressPoint[] {
  return points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
}

export function createProgressReporter(d: ProgressReporterDeps): ProgressReporter {
  let last = 0;
  let points: ProgressPoint[] = [];
  let timer: NodeJS.Timeout | undefined;
  const warned = new Set<string>();

  const flush = async () => {
    timer = undefined;
    if (points.length === 0) return;
    const batch = points;
    points = [];
    last = d.now();
    await d.store.progress(d.jobId, d.workerId, batch, last)
      .catch((err: unknown) => d.writeFailed(`progress of ${d.jobId} not recorded: ${String(err)}`));
  };

  /** One warning per metric name and job, however often it is reported. */
  const warnOnce = (dropped: readonly DroppedMetric[]) => {
    const fresh = dropped.filter((x) => !warned.has(x.name));
    for (const x of fresh) warned.add(x.name);
    if (fresh.length > 0) d.warn(droppedMetricsWarning(fresh));
  };

  return {
    report(value, message, metrics) {
      const clean = sanitizeMetrics(metrics);
      if (clean.dropped.length > 0) warnOnce(clean.dropped);
      const point: ProgressPoint = { ts: d.now(), progress: Number.isFinite(value) ? value : 0, message: message ?? '' };
      if (clean.metrics) point.metrics = clean.metrics;
      if (points.length > 0 && !points[points.length - 1]!.metrics) points.pop();
      points.push(point);
      if (points.length > MAX_BUFFERED_POINTS) points = thinPoints(points);
      const wait = THROTTLE_MS - (d.now() - last);
      if (wait <= 0) void flush();
      else timer ??= setTimeout(() => void flush(), wait);
    },
    async settle() {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
