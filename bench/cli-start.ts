/**
 * Time to first output of the kiln CLI: spawn → first byte on stdout, and spawn →
 * exit, 20 runs each (RUNS=n to change), next to `node -e` in the same run.
 * `jobs list` and `status` run against a real API (redis + spawner + API over HTTP).
 *   npm run bench:cli
 *   COMPARE_CLI=/path/to/other/cli.mjs npm run bench:cli    # adds `<that> --help`
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { serveHttp } from '../tests/helpers/http-app';
import { startRedis } from '../tests/helpers/redis-server';
import { startSystem } from '../tests/helpers/system';
import { fmt, percentile } from './stats';

const RUNS = Number(process.env.RUNS ?? 20);
const KILN = join(import.meta.dirname, '..', 'bin', 'kiln.mjs');

function once(args: string[], env: NodeJS.ProcessEnv): Promise<{ first: number; exit: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    let first = NaN;
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.once('data', () => (first = ms()));
    p.stdout.resume();
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve({ first, exit: ms() }) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

const redis = await startRedis();
const sys = await startSystem(redis, { types: { node: { framework: 'node', version: '20', max_jobs: 8, max_workers: 1 } } });
const api = await serveHttp(sys.api);
const env = { PATH: process.env.PATH, HOME: process.env.HOME, KILN_API_URL: api.url };
try {
  for (let i = 0; i < 20; i++) await sys.request('POST', '/jobs', { function: 'echo', input: { i } });
  const cases: [string, string[]][] = [
    ['node -e 0 (exit only)', ['-e', '0']],
    ['node -e "write"', ['-e', 'process.stdout.write(".")']],
    ['kiln --help', [KILN, '--help']],
    ['kiln types', [KILN, 'types']],
    ['kiln jobs list', [KILN, 'jobs', 'list']],
    ['kiln status', [KILN, 'status']],
    ...(process.env.COMPARE_CLI ? [['compare --help', [process.env.COMPARE_CLI, '--help']] as [string, string[]]] : []),
  ];
  console.log(`${RUNS} runs each, interleaved; median / p90 of spawn → first stdout byte, and of spawn → exit`);
  const samples = cases.map(() => ({ first: [] as number[], exit: [] as number[] }));
  for (let r = 0; r < RUNS; r++) {
    for (const [i, [, args]] of cases.entries()) {
      const s = await once(args, env);
      samples[i]!.first.push(s.first);
      samples[i]!.exit.push(s.exit);
    }
  }
  for (const [i, [name]] of cases.entries()) {
    const { first, exit } = samples[i]!;
    const firstText = first.every(Number.isNaN) ? '(no output)' : `${fmt(percentile(first, 50))} / ${fmt(percentile(first, 90))}`;
    console.log(`${name.padEnd(24)} first output ${firstText.padEnd(22)}  exit ${fmt(percentile(exit, 50))} / ${fmt(percentile(exit, 90))}`);
  }
} finally {
  await api.close();
  await sys.stop();
  await redis.stop();
}
