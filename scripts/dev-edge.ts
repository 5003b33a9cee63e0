/**
 * `npm run dev:edge`: the API inside workerd. Redis (a local redis-server when
 * none answers and REDIS_URL is unset), the spawner with its REST gateway at
 * /redis turned on (KILN_REDIS_GATEWAY=on), and `wrangler dev` serving
 * api/workerd.ts on 127.0.0.1:8787 (EDGE_PORT), offline. The gateway's token and
 * the spawner's reach wrangler through .dev.vars, which this keeps in step with
 * them. Ctrl-C stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { intEnv } from '../core/config';
import { loadSpawnerConfig } from '../spawner/config';
import { startSpawner, type SpawnerHandle } from '../spawner/daemon';
import { armShutdownWatchdog, FORCED_STOP_WAIT_MS, shutdownBudgetMs } from '../spawner/shutdown-watchdog';
import { syncDevVars } from './dev-vars';
import { localRedis, stopChild } from './local-redis';

const say = (m: string) => process.stdout.write(`${m}\n`);

/** What keeps wrangler dev from reaching the internet (shared/notes/toolchain.md). */
const OFFLINE_ENV = {
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
};

function wranglerBin(): string {
  const pkg = createRequire(join(process.cwd(), 'package.json')).resolve('wrangler/package.json');
  return join(dirname(pkg), 'bin', 'wrangler.js');
}

function startWrangler(opts: { host: string; port: number; vars: Record<string, string>; env: NodeJS.ProcessEnv }): ChildProcess {
  const args = [wranglerBin(), 'dev', '--ip', opts.host, '--port', String(opts.port), '--show-interactive-dev-session=false'];
  // One log line per request unless asked for (WRANGLER_LOG=info).
  if (!opts.env.WRANGLER_LOG) args.push('--log-level', 'warn');
  for (const [k, v] of Object.entries(opts.vars)) args.push('--var', `${k}:${v}`);
  // Its own process group: stopped as a whole (wrangler and workerd) on the way out.
  return spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...opts.env, ...OFFLINE_ENV }, detached: true });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before it served ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs / 1000} s`);
}

/** SIGTERM to the group (wrangler stops workerd), SIGKILL to the group after graceMs. */
async function stopGroup(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  signal('SIGKILL'); // anything wrangler left behind in its group
}

async function main(): Promise<void> {
  // workerd reaches Redis only through the spawner's REST gateway.
  const env: NodeJS.ProcessEnv = { ...process.env, KILN_REDIS_GATEWAY: 'on' };
  const config0 = loadSpawnerConfig(env);
  let redisChild: ChildProcess | undefined;
  let spawner: SpawnerHandle | undefined;
  let wrangler: ChildProcess | undefined;
  let stopping = false;

  // Every wait below is bounded, whether or not Redis answers; the watchdog is the last guard.
  const stopAll = async (code: number) => {
    stopping = true;
    const config = loadSpawnerConfig(env);
    armShutdownWatchdog(shutdownBudgetMs(config.drainGraceMs, config.redisTimeoutMs) + 10_000, () => {
      say('kiln: the shutdown outlived the drain grace; exiting now');
      try {
        if (wrangler?.pid) process.kill(-wrangler.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      redisChild?.kill('SIGKILL');
    });
    await Promise.all([stopGroup(wrangler), spawner?.stop()]);
    await stopChild(redisChild);
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) {
        say(`${sig} again: stopping workers now`);
        const spawnerStopped = spawner ? Promise.race([spawner.stop(0), new Promise((r) => setTimeout(r, FORCED_STOP_WAIT_MS))]) : undefined;
        void Promise.all([stopGroup(wrangler, 0), spawnerStopped]).then(() => {
          redisChild?.kill('SIGKILL');
          process.exit(130);
        });
        return;
      }
      say(`${sig}: stopping wrangler, the spawner${redisChild ? ' and redis-server' : ''} (Ctrl-C again to force)`);
      void stopAll(0);
    });
  }

  try {
    if (!env.REDIS_URL && !env.REDIS_HOST) redisChild = await localRedis(config0.stateDir, intEnv(env, 'REDIS_PORT'), 'npm run dev:edge');
    const config = loadSpawnerConfig(env);
    spawner = await startSpawner(config);
    const gateway = `${spawner.url}/redis`;
    const devVars = resolve('.dev.vars');
    if (!spawner.gatewayToken) throw new Error('the spawner started without its REST gateway');
    const change = syncDevVars(devVars, { UPSTASH_REDIS_REST_TOKEN: spawner.gatewayToken, SPAWNER_TOKEN: spawner.token });
    if (change !== 'unchanged') say(`.dev.vars: ${change} with the gateway and spawner tokens`);

    const host = '127.0.0.1';
    const port = intEnv(env, 'EDGE_PORT');
    const url = `http://${host}:${port}`;
    wrangler = startWrangler({
      host, port, env,
      // DATA_ROOT: the spawner's, so the API under workerd checks data_path against the same folder
      vars: { UPSTASH_REDIS_REST_URL: gateway, WORKER_MANAGER_URL: env.WORKER_MANAGER_URL ?? spawner.url, KILN_PREFIX: config.prefix, DATA_ROOT: config.dataRoot },
    });
    wrangler.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`kiln: wrangler dev exited (${code ?? signal}); stopping\n`);
      void stopAll(1);
    });
    await waitForHttp(`${url}/health`, wrangler, 60_000);
    const gatewayTokenAt = config.redisGateway.token ? 'KILN_REDIS_GATEWAY_TOKEN' : `${config.stateDir}/redis-gateway.token`;
    say(`spawner: ${spawner.url}   (token in ${config.stateDir}/spawner.token; REST gateway ${gateway}, token in ${gatewayTokenAt})`);
    say(`api:     ${url}   (workerd, wrangler dev)   try: curl -s ${url}/health`);
    say('Ctrl-C stops everything.');
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`kiln: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(1);
  }
}

void main();
