/**
 * `npm run chaos`: 5,000 jobs across types, SIGKILL a random worker every 250 ms
 * for 30 s, then wait. Exits non-zero when any job was lost or stuck.
 * Knobs: CHAOS_JOBS, CHAOS_KILL_EVERY_MS, CHAOS_KILL_FOR_MS, CHAOS_SETTLE_MS.
 */
import { formatReport, runChaos } from './chaos-run';

const n = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const report = await runChaos({
  jobs: n('CHAOS_JOBS', 5000),
  killEveryMs: n('CHAOS_KILL_EVERY_MS', 250),
  killForMs: n('CHAOS_KILL_FOR_MS', 30_000),
  settleMs: n('CHAOS_SETTLE_MS', 120_000),
  withPython: process.env.CHAOS_PYTHON !== '0',
  log: (line) => console.log(line),
});
console.log(formatReport(report));
process.exit(report.lost > 0 || report.stuck > 0 ? 1 : 0);
