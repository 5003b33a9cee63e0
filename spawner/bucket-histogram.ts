/**
 * A Prometheus histogram whose bucket counts are added in bulk: the spawner merges
 * what its workers counted (their `stats` deltas, over the shared bounds of
 * core/job-stats.ts) instead of observing every job itself.
 *
 * prom-client's Histogram only takes single observations, so this is a metric of
 * its own kind: prom-client's Registry renders any registered metric from what its
 * `get()` returns (name, help, type and the values: `_bucket` per `le`, cumulative,
 * then `_sum` and `_count`), which is what this class returns.
 */
import type { Metric, Registry } from 'prom-client';
import { type BucketCounts, emptyBuckets, mergeBuckets, observe } from '../core/job-stats';

interface Series { labels: Record<string, string>; buckets: BucketCounts }

export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  private at(labels: Record<string, string>): BucketCounts {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, buckets: emptyBuckets(this.bounds) }));
    return s.buckets;
  }

  /** Makes the series exist (all zero), so that rates work from the first observation. */
  zero(labels: Record<string, string>): void {
    this.at(labels);
  }

  observe(labels: Record<string, string>, value: number): void {
    observe(this.at(labels), this.bounds, value);
  }

  /** Adds counts taken over the same bounds; a delta of another shape is refused. */
  merge(labels: Record<string, string>, delta: BucketCounts): boolean {
    if (delta.counts.length !== this.bounds.length + 1) return false;
    mergeBuckets(this.at(labels), delta);
    return true;
  }

  reset(): void {
    this.series.clear();
  }

  async get() {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    for (const { labels, buckets } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += buckets.counts[i] ?? 0;
        values.push({ value: cumulative, labels: { ...labels, le }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: buckets.count, labels: { ...labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: buckets.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: buckets.count, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
