/**
 * The table of `npm run bench`: one row per figure, with its floor or BullMQ
 * counterpart from the same run, the ratio and the target. Markdown for stdout, JSON for --json.
 */
import { availableParallelism, cpus } from 'node:os';

export interface Target {
  op: '>=' | '<=';
  ratio: number;
}

export interface Row {
  measure: string;
  /** Kiln's figure; null when it could not be measured (see note) */
  figure: number | null;
  unit: string;
  counterpart: string;
  counterpartFigure: number | null;
  target: Target | null;
  note?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  redis: string;
  date: string;
}

export function machine(redisVersion: string): Machine {
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), node: process.version, redis: redisVersion, date: new Date().toISOString() };
}

export const ratioOf = (r: Row): number | null => (r.figure !== null && r.counterpartFigure ? r.figure / r.counterpartFigure : null);

export function metOf(r: Row): boolean | null {
  const ratio = ratioOf(r);
  if (ratio === null || !r.target) return null;
  return r.target.op === '>=' ? ratio >= r.target.ratio : ratio <= r.target.ratio;
}

const num = (v: number | null) => (v === null ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const yesNo = (v: boolean | null) => (v === null ? '—' : v ? 'yes' : 'no');

export function markdown(m: Machine, rows: Row[], settings: string): string {
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores; Node ${m.node}; Redis ${m.redis}. Date: ${m.date}.`,
    `Run: ${settings}.`,
    '',
    '| measure | Kiln | unit | counterpart | counterpart\'s figure | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const ratio = ratioOf(r);
    const target = r.target ? `${r.target.op === '>=' ? '≥' : '≤'} ${r.target.ratio}×` : '—';
    lines.push(`| ${r.measure}${r.note ? ` — ${r.note}` : ''} | ${num(r.figure)} | ${r.unit} | ${r.counterpart} | ${num(r.counterpartFigure)} | ${ratio === null ? '—' : `${ratio.toFixed(2)}×`} | ${target} | ${yesNo(metOf(r))} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function json(m: Machine, rows: Row[], settings: Record<string, unknown>): string {
  return `${JSON.stringify({ machine: m, settings, rows: rows.map((r) => ({ ...r, ratio: ratioOf(r), met: metOf(r) })) }, null, 2)}\n`;
}
