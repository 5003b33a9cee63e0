/**
 * `npm run bench`: one command, its own redis-server, one run, one table. Every
 * Kiln figure next to its BullMQ counterpart or its floor, measured in this run,
 * with the ratio and the target of issue #11. Markdown on stdout; `--json FILE`
 * writes the same rows as JSON. `--quick`: fewer jobs and samples (a smoke run).
 * `--only warm,submit,cold,infer`: a subset of the sections.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startRedis } from '../tests/helpers/redis-server';
import { coldRows } from './bench-cold';
import { inferRows } from './bench-infer';
import { submitRow } from './bench-submit';
import { warmRows } from './bench-warm';
import { json, machine, markdown, type Row } from './report';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' }, only: { type: 'string' } } });
const quick = values.quick;
const settings = {
  jobs: quick ? 1000 : 5000,
  inFlight: 50,
  rounds: quick ? 1 : 3,
  latencySamples: quick ? 30 : 200,
  latencyWarmup: quick ? 5 : 20,
  gapMs: 20,
  submitMs: quick ? 1500 : 5000,
  submitRounds: quick ? 1 : 2,
  coldRuns: quick ? 3 : 10,
  inferSamples: quick ? 10 : 50,
  inferLoadJobs: quick ? 100 : 400,
  budgetMs: quick ? 240_000 : 900_000,
};
const sections = new Set((values.only ?? 'warm,submit,cold,infer').split(','));
const deadline = Date.now() + settings.budgetMs;

const redis = await startRedis();
const rows: Row[] = [];
try {
  const info = await redis.client().info('server');
  const m = machine(/redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown');
  if (sections.has('warm')) {
    console.error('bench: warm latency and throughput…');
    rows.push(...(await warmRows(redis, { ...settings, deadline })));
  }
  if (sections.has('submit')) {
    console.error('bench: HTTP submit rate…');
    rows.push(await submitRow(redis, { durationMs: settings.submitMs, connections: settings.inFlight, rounds: settings.submitRounds }));
  }
  if (sections.has('cold')) {
    console.error('bench: cold starts…');
    rows.push(...(await coldRows(redis, { runs: settings.coldRuns, deadline })));
  }
  if (sections.has('infer')) {
    console.error('bench: inference…');
    rows.push(...(await inferRows(redis, { samples: settings.inferSamples, loadJobs: settings.inferLoadJobs, deadline })));
  }
  const described = `${quick ? '--quick' : 'full'}; throughput ${settings.jobs} jobs × ${settings.rounds} rounds (median), latency n=${settings.latencySamples}, cold starts n=${settings.coldRuns}, inference n=${settings.inferSamples}`;
  process.stdout.write(markdown(m, rows, described));
  if (values.json) writeFileSync(values.json, json(m, rows, settings));
} finally {
  await redis.stop();
}
