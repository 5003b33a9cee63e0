/**
 * `npm run bench`, cold-start rows: per type, submit → running with no worker before
 * (bench/cold-runs.ts), against its floor measured alternately in the same run.
 * Python frameworks whose import fails under the given interpreter are reported as skipped.
 */
import { join } from 'node:path';
import type { WorkerTypeInput } from '../core/schemas/worker-type';
import type { RedisServer } from '../tests/helpers/redis-server';
import { startSystem } from '../tests/helpers/system';
import { coldStart, nodeFloor, pythonImportFloor } from './cold-runs';
import type { Row } from './report';
import { percentile } from './stats';

const PYTHON = process.env.KILN_BENCH_PYTHON ?? '/usr/bin/python3';
const PY_TYPES: Array<{ type: string; framework: 'sklearn' | 'pytorch'; version: string; module: string }> = [
  { type: 'sklearn', framework: 'sklearn', version: '1.2', module: 'sklearn' },
  { type: 'torch', framework: 'pytorch', version: '2.1', module: 'torch' },
];

export async function coldRows(redis: RedisServer, o: { runs: number; deadline: number }): Promise<Row[]> {
  const installed = [];
  const rows: Row[] = [];
  for (const p of PY_TYPES) {
    if ((await pythonImportFloor(PYTHON, p.module)) === null) {
      rows.push({ measure: `Cold start, ${p.type} type`, figure: null, unit: 'ms', counterpart: `\`${PYTHON} -c "import ${p.module}"\``, counterpartFigure: null, target: { op: '<=', ratio: 0.3 }, note: `skipped: ${p.module} is not importable by ${PYTHON}` });
    } else installed.push(p);
  }
  const types: Record<string, WorkerTypeInput> = { node: { framework: 'node', version: '20', idle_timeout: 600, max_jobs: 4, max_workers: 1 } };
  for (const p of installed) types[p.type] = { framework: p.framework, version: p.version, python: PYTHON, idle_timeout: 600, max_jobs: 1, max_workers: 1 };
  const sys = await startSystem(redis, {
    types,
    env: {
      KILN_FUNCTIONS_MODULE: join(import.meta.dirname, 'warm-functions.mjs'),
      KILN_HANDLERS_DIR: join(import.meta.dirname, '..', 'tests', 'fixtures', 'fake_framework', 'handlers'),
    },
    // a bench measures the ensure fast path; keep the loop from racing it
    spawner: { reconcileMs: 60_000 },
  });
  const median = (xs: number[]) => percentile(xs, 50);
  const measure = async (body: unknown, floor: () => Promise<number | null>) => {
    const kiln: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      if (Date.now() > o.deadline) throw new Error('bench deadline passed during cold starts');
      const floorFirst = i % 2 === 0; // alternate which goes first
      const before = floorFirst ? await floor() : undefined;
      kiln.push((await coldStart(sys, body)).ms);
      const f = floorFirst ? before : await floor();
      if (f === null || f === undefined) throw new Error('the floor failed (it ran before)');
      base.push(f);
    }
    return { kiln: median(kiln), floor: median(base) };
  };
  try {
    const node = await measure({ function: 'noop', input: null }, () => nodeFloor(redis.port));
    const out: Row[] = [{ measure: `Cold start, node type (submit → running, no worker before; median of ${o.runs})`, figure: node.kiln, unit: 'ms', counterpart: 'fork + load ioredis + PING', counterpartFigure: node.floor, target: { op: '<=', ratio: 1.15 } }];
    for (const p of installed) {
      const r = await measure({ worker_type: p.type, payload: { handler: 'echo' } }, () => pythonImportFloor(PYTHON, p.module));
      out.push({ measure: `Cold start, ${p.type} type (median of ${o.runs})`, figure: r.kiln, unit: 'ms', counterpart: `\`python3 -c "import ${p.module}"\``, counterpartFigure: r.floor, target: { op: '<=', ratio: 0.3 }, note: 'runner forked from the type\'s template; its import is paid once, by the first run' });
    }
    return [...out, ...rows];
  } finally {
    await sys.stop().catch((e: unknown) => console.error(`stopping Kiln: ${String(e)}`));
  }
}
