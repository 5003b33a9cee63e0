/**
 * Progress metrics: the numbers a job reports with its progress
 * (`ctx.progress(0.4, 'epoch 2', { loss: 0.31 })`), kept on the job as the latest
 * object and a capped history, so a training run can be drawn as a line chart.
 */
import { z } from 'zod';

/** At most this many metrics per point; the rest are dropped with a warning. */
export const METRICS_MAX_KEYS = 32;
/** Longest metric name kept. */
export const METRIC_NAME_MAX_LENGTH = 64;
/** Points a job's history keeps before it is thinned to every other point. */
export const PROGRESS_HISTORY_CAP = 500;

/** A flat object of finite numbers. */
export type ProgressMetrics = Readonly<Record<string, number>>;

/** One progress report on its way to Redis. `message` is '' for none. */
export interface ProgressPoint {
  ts: number;
  progress: number;
  message: string;
  metrics?: ProgressMetrics;
}

export interface DroppedMetric {
  name: string;
  why: string;
}

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'number' ? String(v) : `a ${typeof v}`;

/**
 * Keeps the finite numbers of a metrics object (at most METRICS_MAX_KEYS, names up to
 * METRIC_NAME_MAX_LENGTH characters) and says what it dropped and why. Never throws:
 * bad metrics cost a warning, never a job.
 */
export function sanitizeMetrics(raw: unknown): { metrics: ProgressMetrics | undefined; dropped: DroppedMetric[] } {
  if (raw === undefined || raw === null) return { metrics: undefined, dropped: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { metrics: undefined, dropped: [{ name: '(metrics)', why: `${describe(raw)}, not an object of numbers` }] };
  }
  const out: Record<string, number> = {};
  const dropped: DroppedMetric[] = [];
  let kept = 0;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name.length === 0 || name.length > METRIC_NAME_MAX_LENGTH) {
      dropped.push({ name: name.length ? `${name.slice(0, METRIC_NAME_MAX_LENGTH)}…` : '(empty name)', why: `names are 1 to ${METRIC_NAME_MAX_LENGTH} characters` });
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      dropped.push({ name, why: `${describe(value)} is not a finite number` });
    } else if (name === '__proto__') {
      dropped.push({ name, why: 'a reserved name' });
    } else if (kept >= METRICS_MAX_KEYS) {
      dropped.push({ name, why: `more than ${METRICS_MAX_KEYS} metrics in one report` });
    } else {
      out[name] = value;
      kept++;
    }
  }
  return { metrics: kept > 0 ? out : undefined, dropped };
}

/** The warning line for what sanitizeMetrics dropped. */
export function droppedMetricsWarning(dropped: readonly DroppedMetric[]): string {
  return `progress metrics dropped: ${dropped.map((d) => `"${d.name}" (${d.why})`).join(', ')}`;
}

export const progressMetricsSchema = z.record(z.string(), z.number());

/** A metrics object stored as JSON (job hash field, history entry, events stream). */
export const metricsJson = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
}).pipe(progressMetricsSchema);

const num = z.coerce.number();

/** One entry of a job's progress history stream, as read back from Redis. */
export const historyEntrySchema = z.object({
  n: num,
  ts: num,
  progress: num,
  message: z.string().default(''),
  metrics: metricsJson.optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** The public JSON shape of a history point. */
export function historyPointView(e: HistoryEntry): { ts: string; progress: number; message: string | null; metrics: Record<string, number> | null } {
  return { ts: new Date(e.ts).toISOString(), progress: e.progress, message: e.message || null, metrics: e.metrics ?? null };
}

/** Fields of the events stream that hold a time (ms since the epoch): ISO-8601 strings in event data, as in every view. */
const TIME_FIELDS = ['ts', 'run_at'];
/** Fields of the events stream that hold a number: numbers in event data. */
const NUMBER_FIELDS = ['progress', 'retry'];

/**
 * An event's fields from the events stream (all strings in Redis) as its SSE data: times as
 * ISO-8601 strings, numbers as numbers, metrics as an object of numbers.
 */
export function streamEventData(fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  for (const k of TIME_FIELDS) {
    const ms = Number(fields[k]);
    if (fields[k] !== undefined && Number.isFinite(ms)) out[k] = new Date(ms).toISOString();
  }
  for (const k of NUMBER_FIELDS) {
    const n = Number(fields[k]);
    if (fields[k] !== undefined && Number.isFinite(n)) out[k] = n;
  }
  if (fields.metrics !== undefined) {
    const parsed = metricsJson.safeParse(fields.metrics);
    out.metrics = parsed.success ? parsed.data : null;
  }
  return out;
}
