import { describe, expect, it } from 'vitest';
import { json, markdown, metOf, ratioOf, type Row } from '../bench/report';

const machine = { cpu: 'Test CPU', cores: 2, node: 'v20.0.0', redis: '7.0.15', date: '2026-01-01T00:00:00.000Z' };
const row = (over: Partial<Row>): Row => ({ measure: 'Throughput', figure: 150, unit: 'jobs/s', counterpart: 'BullMQ', counterpartFigure: 100, target: { op: '>=', ratio: 1.5 }, ...over });

describe('bench report', () => {
  it('computes the ratio against the counterpart and checks it against the target in its direction', () => {
    expect(ratioOf(row({}))).toBe(1.5);
    expect(metOf(row({}))).toBe(true);
    expect(metOf(row({ figure: 149 }))).toBe(false);
    expect(metOf(row({ figure: 90, target: { op: '<=', ratio: 0.8 } }))).toBe(false);
    expect(metOf(row({ figure: 80, target: { op: '<=', ratio: 0.8 } }))).toBe(true);
  });

  it('leaves ratio and met empty for a skipped row, and prints its note', () => {
    const skipped = row({ measure: 'Cold start, torch type', figure: null, counterpartFigure: null, note: 'skipped: torch is not importable' });
    expect(ratioOf(skipped)).toBeNull();
    expect(metOf(skipped)).toBeNull();
    const md = markdown(machine, [skipped], 'quick');
    expect(md).toContain('| Cold start, torch type — skipped: torch is not importable | — | jobs/s | BullMQ | — | — | ≥ 1.5× | — |');
    expect(md).toContain('Machine: Test CPU, 2 cores; Node v20.0.0; Redis 7.0.15. Date: 2026-01-01T00:00:00.000Z.');
  });

  it('writes the same rows as JSON, with ratio and met', () => {
    const out = JSON.parse(json(machine, [row({})], { quick: true }));
    expect(out.machine).toEqual(machine);
    expect(out.rows[0]).toMatchObject({ figure: 150, counterpartFigure: 100, ratio: 1.5, met: true });
  });
});
