/**
 * `npx spawner <command>`: run the daemon (`serve`) or talk to a running one.
 * A readable table by default, `--json` for scripts, non-zero exit on failure.
 */
import { parseArgs } from 'node:util';
import { KilnError } from '../core/errors';
import { loadSpawnerConfig } from './config';
import { startSpawner } from './daemon';
import { readToken } from './token';

const HELP = `usage: spawner <command> [options]

commands:
  serve [--strict]     run the spawner daemon (SPAWNER_HOST:SPAWNER_PORT, default 127.0.0.1:8001)
  status               list workers
  types                list configured worker types
  start <type>         start a worker of a type
  ensure <type>        make sure a worker of a type is running (idempotent)
  stop <worker_id>     stop a worker (drain, then SIGTERM, then SIGKILL its process group)

options:
  --json               print JSON instead of a table
  --url <url>          spawner URL (default $WORKER_MANAGER_URL or http://127.0.0.1:8001)
  --grace-ms <ms>      with stop: how long to let running jobs finish first (default 0)
  --strict             with serve: refuse to start on an unsafe Redis (evicting, no persistence)
`;

type Out = { json: boolean };

function table(rows: Record<string, unknown>[], cols: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

async function call(base: string, method: string, path: string): Promise<unknown> {
  const token = process.env.SPAWNER_TOKEN || readToken(loadSpawnerConfig(process.env).stateDir);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new KilnError('SPAWNER_UNREACHABLE', `cannot reach the spawner at ${base} (${err instanceof Error ? err.message : String(err)}); start it with "npx spawner serve" or "npm start"`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new KilnError('SPAWNER_ERROR', `spawner answered ${res.status}: ${body.error?.message ?? 'no detail'}`);
  return body;
}

function print(out: Out, data: unknown, human: () => string): void {
  process.stdout.write(`${out.json ? JSON.stringify(data, null, 2) : human()}\n`);
}

async function serveCommand(strict: boolean): Promise<void> {
  const config = loadSpawnerConfig(process.env);
  const daemon = await startSpawner({ ...config, strictRedis: config.strictRedis || strict });
  let signals = 0;
  const shutdown = (sig: string) => {
    signals++;
    if (signals > 1) {
      daemon.logger.warn(`second ${sig}: stopping workers now`);
      void daemon.stop(0).then(() => process.exit(130));
      return;
    }
    daemon.logger.info(`${sig}: draining workers (up to ${config.drainGraceMs} ms; again to force)`);
    void daemon.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

export async function runCli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      'grace-ms': { type: 'string' },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [cmd, arg] = positionals;
  const out: Out = { json: values.json ?? false };
  const base = (values.url ?? process.env.WORKER_MANAGER_URL ?? 'http://127.0.0.1:8001').replace(/\/+$/, '');
  const need = (what: string) => {
    if (!arg) throw new KilnError('USAGE', `spawner ${cmd} needs a ${what}\n\n${HELP}`);
    return encodeURIComponent(arg);
  };
  switch (cmd) {
    case 'serve':
      await serveCommand(values.strict ?? false);
      return -1;
    case 'status': {
      const s = (await call(base, 'GET', '/workers/status')) as { total_workers: number; active_workers: number; worker_details: Record<string, Record<string, unknown>>; type_state: Record<string, string> };
      print(out, s, () => {
        const rows = Object.values(s.worker_details);
        const head = `${s.total_workers} worker(s), ${s.active_workers} busy`;
        const notes = Object.entries(s.type_state ?? {}).map(([t, why]) => `${t}: ${why}`);
        return [head, rows.length ? table(rows, ['worker_id', 'worker_type', 'process_id', 'status', 'job_count', 'max_jobs', 'last_activity']) : '', ...notes].filter(Boolean).join('\n');
      });
      return 0;
    }
    case 'types': {
      const t = (await call(base, 'GET', '/workers/types')) as { types: Record<string, Record<string, unknown>> };
      print(out, t, () => table(Object.entries(t.types).map(([name, c]) => ({ name, ...c })), ['name', 'framework', 'version', 'gpu', 'max_jobs', 'min_workers', 'max_workers', 'idle_timeout']));
      return 0;
    }
    case 'start':
    case 'ensure': {
      const r = (await call(base, 'POST', `/workers/${cmd}/${need('worker type')}`)) as Record<string, unknown>;
      print(out, r, () => (cmd === 'start' ? `started ${String(r.worker_id)} (pid ${String(r.process_id)})` : `${String(r.action)}${r.worker_id ? ` ${String(r.worker_id)}` : ''}${r.reason ? `: ${String(r.reason)}` : ''}`));
      return 0;
    }
    case 'stop': {
      const grace = values['grace-ms'] ? `?grace_ms=${encodeURIComponent(values['grace-ms'])}` : '';
      const r = await call(base, 'POST', `/workers/stop/${need('worker id')}${grace}`);
      print(out, r, () => `stopped ${arg}`);
      return 0;
    }
    case undefined:
    case 'help':
      process.stdout.write(HELP);
      return cmd === undefined && !values.help ? 2 : 0;
    default:
      throw new KilnError('USAGE', `unknown command "${cmd}"\n\n${HELP}`);
  }
}

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`spawner: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
