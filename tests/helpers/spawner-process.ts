/**
 * The spawner daemon as its own OS process (`node dist/cli.mjs serve`), for tests
 * that SIGKILL it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './redis-server';

const ROOT = join(import.meta.dirname, '..', '..');

export interface SpawnerProcess {
  proc: ChildProcess;
  url: string;
  token: string;
  log: string[];
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnerEnv(opts: { redisUrl: string; prefix: string; stateDir: string; types: Record<string, unknown>; extra?: Record<string, string> }): Promise<Record<string, string>> {
  const typesFile = join(opts.stateDir, 'types.json');
  writeFileSync(typesFile, JSON.stringify(opts.types));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    REDIS_URL: opts.redisUrl,
    KILN_PREFIX: opts.prefix,
    KILN_STATE_DIR: opts.stateDir,
    KILN_HOST_ID: `proc-${opts.prefix}`,
    SPAWNER_PORT: String(await freePort()),
    WORKER_TYPES_FILE: typesFile,
    KILN_RECONCILE_MS: '100',
    KILN_HEARTBEAT_MS: '500',
    KILN_LEASE_MS: '3000',
    KILN_GPUS: 'none',
    ...opts.extra,
  };
}

export async function startSpawnerProcess(env: Record<string, string>): Promise<SpawnerProcess> {
  const proc = spawn(process.execPath, [join(ROOT, 'dist', 'cli.mjs'), 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  proc.stderr?.setEncoding('utf8');
  let partial = '';
  proc.stderr?.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    log.push(...lines.filter(Boolean));
  });
  const url = `http://127.0.0.1:${env.SPAWNER_PORT}`;
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`spawner did not start:\n${log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { readToken } = await import('../../spawner/token');
  return {
    proc, url, log, token: readToken(env.KILN_STATE_DIR!) ?? '',
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    },
  };
}
