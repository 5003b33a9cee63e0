/**
 * The chaos run: submit many jobs across worker types while SIGKILLing a random
 * worker at a fixed interval, then wait and count what became of every job.
 * Used by `npm run chaos` (full size) and by tests/chaos.test.ts (short).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../tests/helpers/redis-server';
import { startSystem } from '../tests/helpers/system';

export interface ChaosOptions {
  jobs: number;
  killEveryMs: number;
  killForMs: number;
  /** How long to wait for the last jobs after the kills stop. */
  settleMs: number;
  withPython: boolean;
  log?: (line: string) => void;
}

export interface ChaosReport {
  submitted: number;
  completed: number;
  failed: number;
  lost: number;
  stuck: number;
  completedTwice: number;
  kills: number;
  elapsedMs: number;
  byStatus: Record<string, number>;
}

const FIXTURES = join(import.meta.dirname, '..', 'tests', 'fixtures');

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const started = Date.now();
  const redis = await startRedis({ appendonly: true });
  const dir = mkdtempSync(join(tmpdir(), 'kiln-chaos-'));
  const ranLog = join(dir, 'ran.log');
  const sys = await startSystem(redis, {
    types: {
      node: { framework: 'node', version: '20', max_jobs: 8, max_workers: 3, idle_timeout: 60 },
      'node-b': { framework: 'node', version: '20', max_jobs: 4, max_workers: 2, idle_timeout: 60 },
      ...(o.withPython && { fake: { framework: 'fake', version: '0.1.0', python: '/usr/bin/python3', python_path: [join(FIXTURES, 'fake_framework')], max_jobs: 1, max_workers: 2, idle_timeout: 60 } }),
    },
    env: { KILN_FUNCTIONS_MODULE: join(FIXTURES, 'functions.mjs'), KILN_HANDLERS_DIR: join(FIXTURES, 'fake_framework', 'handlers') },
    // Random SIGKILLs look like a crash loop to the breaker; cap its backoff so the run keeps killing.
    spawner: { drainGraceMs: 2000, breaker: { youngMs: 5000, threshold: 3, baseDelayMs: 200, maxDelayMs: 1000 } },
  });
  const types = ['node', 'node-b', ...(o.withPython ? ['fake'] : [])];
  const ids: string[] = [];
  let kills = 0;
  try {
    // kills run while jobs are still being submitted
    const killer = (async () => {
      const until = Date.now() + o.killForMs;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, o.killEveryMs));
        const live = [...sys.spawner.supervisor.workers.values()].filter((w) => w.proc.isAlive());
        const victim = live[Math.floor(Math.random() * live.length)];
        if (victim) {
          try {
            process.kill(victim.proc.pid, 'SIGKILL');
            kills++;
          } catch {
            // already gone
          }
        }
      }
    })();
    const submitter = (async () => {
      const spacing = Math.max(0, (o.killForMs * 0.8) / o.jobs);
      for (let i = 0; i < o.jobs; i++) {
        const type = types[i % types.length]!;
        const body = type === 'fake'
          ? { worker_type: 'fake', payload: { handler: 'echo', i }, max_attempts: 25 }
          : { function: 'chaosTask', worker_type: type, input: { ms: 5 + (i % 20), log: ranLog }, max_attempts: 25 };
        const r = await sys.request('POST', '/jobs', body);
        if (r.status !== 202) throw new Error(`submit ${i} refused: ${JSON.stringify(r.body)}`);
        ids.push(r.body.job_id);
        if (spacing >= 1 && i % 10 === 0) await new Promise((res) => setTimeout(res, spacing * 10));
      }
    })();
    await Promise.all([killer, submitter]);
    log(`submitted ${ids.length} jobs, ${kills} workers SIGKILLed; waiting up to ${o.settleMs} ms`);

    const statusOf = async () => {
      const pipe = sys.redis.pipeline();
      for (const id of ids) pipe.hget(`{${sys.prefix}}:job:${id}`, 'status');
      return ((await pipe.exec()) ?? []).map(([, s]) => (s as string | null) ?? 'missing');
    };
    const deadline = Date.now() + o.settleMs;
    let statuses = await statusOf();
    while (Date.now() < deadline && statuses.some((s) => !['succeeded', 'failed', 'cancelled', 'missing'].includes(s))) {
      await new Promise((r) => setTimeout(r, 250));
      statuses = await statusOf();
    }
    const byStatus: Record<string, number> = {};
    for (const s of statuses) byStatus[s] = (byStatus[s] ?? 0) + 1;
    let ran: string[] = [];
    try {
      ran = readFileSync(ranLog, 'utf8').split('\n').filter(Boolean);
    } catch {
      // no node job ran
    }
    const counts = new Map<string, number>();
    for (const id of ran) counts.set(id, (counts.get(id) ?? 0) + 1);
    return {
      submitted: ids.length,
      completed: byStatus.succeeded ?? 0,
      failed: byStatus.failed ?? 0,
      lost: byStatus.missing ?? 0,
      stuck: statuses.filter((s) => ['queued', 'delayed', 'running'].includes(s)).length,
      completedTwice: [...counts.values()].filter((n) => n > 1).length,
      kills,
      elapsedMs: Date.now() - started,
      byStatus,
    };
  } finally {
    await sys.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatReport(r: ChaosReport): string {
  return [
    `jobs submitted:   ${r.submitted}`,
    `workers killed:   ${r.kills}`,
    `completed:        ${r.completed}`,
    `failed:           ${r.failed}`,
    `lost:             ${r.lost}`,
    `stuck:            ${r.stuck}`,
    `completed twice:  ${r.completedTwice}  (ran to the end twice: at-least-once delivery after a kill)`,
    `elapsed:          ${(r.elapsedMs / 1000).toFixed(1)} s`,
  ].join('\n');
}
