/** Text formatting for the CLI's human output: tables, durations, percentages, bars. */

export interface Column<R> {
  header: string;
  value: (row: R) => string | number | null | undefined;
  /** Right-align (numbers). */
  right?: boolean;
}

export function table<R>(rows: R[], cols: Column<R>[]): string {
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));
  const cells = rows.map((r) => cols.map((c) => cell(c.value(r))));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => (cols[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cols.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** 850ms, 12.3s, 4m05s, 2h03m, 3d04h. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)}ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)}s`;
  const s = Math.floor(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** Milliseconds since the epoch of an ISO time, or undefined. */
export function msOf(iso: unknown): number | undefined {
  if (typeof iso !== 'string') return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** A 0..1 fraction as "40%". */
export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '-';
  return `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/** A fixed-width bar of a 0..1 fraction, e.g. "█████░░░░░". */
export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** Cuts a string to `max` characters with an ellipsis. */
export function clip(s: string, max: number): string {
  if (max <= 0) return '';
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  if (n < 1024 * 1024) return `${Math.round(n / 1024)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(0)}M`;
  return `${(n / 1024 ** 3).toFixed(1)}G`;
}
