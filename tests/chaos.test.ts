import { expect, it } from 'vitest';
import { formatReport, runChaos } from '../bench/chaos-run';

it('short chaos run: random SIGKILLs lose no job and leave none stuck', async () => {
  const report = await runChaos({ jobs: 400, killEveryMs: 250, killForMs: 6000, settleMs: 30_000, withPython: true });
  console.log(formatReport(report));
  expect(report.kills).toBeGreaterThan(5);
  expect(report.submitted).toBe(400);
  expect(report.lost).toBe(0);
  expect(report.stuck).toBe(0);
  expect(report.completed + report.failed).toBe(400);
}, 90_000);
