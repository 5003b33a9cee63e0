/**
 * `npm start`: Redis (a local redis-server when none answers and REDIS_URL is
 * unset), the spawner daemon and the API, in one process tree. Ctrl-C stops all.
 */
import type { ChildProcess } from 'node:child_process';
import { startApiServer } from '../api/node';
import { intEnv } from '../core/config';
import { loadSpawnerConfig } from '../spawner/config';
import { startSpawner } from '../spawner/daemon';
import { armShutdownWatchdog, FORCED_STOP_WAIT_MS, shutdownBudgetMs } from '../spawner/shutdown-watchdog';
import { localRedis, stopChild } from './local-redis';

const say = (m: string) => process.stdout.write(`${m}\n`);

/** How long a local redis-server gets to save and exit after SIGTERM. */
const REDIS_STOP_MS = 5000;

async function main(): Promise<void> {
  const env = { ...process.env };
  const config0 = loadSpawnerConfig(env);
  let redisChild: ChildProcess | undefined;
  if (!env.REDIS_URL && !env.REDIS_HOST) redisChild = await localRedis(config0.stateDir, intEnv(env, 'REDIS_PORT'));
  const config = loadSpawnerConfig(env);
  const spawner = await startSpawner(config).catch(async (err: unknown) => {
    await stopChild(redisChild);
    throw err;
  });
  const api = startApiServer({ ...env, WORKER_MANAGER_URL: env.WORKER_MANAGER_URL ?? spawner.url, SPAWNER_TOKEN: spawner.token });
  try {
    await api.listening;
  } catch (err) {
    await spawner.stop(0);
    await stopChild(redisChild);
    throw err;
  }
  say(`spawner: ${spawner.url}   (token in ${config.stateDir}/spawner.token)`);
  say(`api:     ${api.url}        try: curl -s ${api.url}/health`);
  say('Ctrl-C stops everything.');

  // Every wait below is bounded, whether or not Redis answers; the watchdog is the last guard.
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) {
      say(`${sig} again: stopping workers now`);
      await Promise.race([spawner.stop(0), new Promise((r) => setTimeout(r, FORCED_STOP_WAIT_MS))]);
      redisChild?.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    say(`${sig}: stopping (drain up to ${config.drainGraceMs} ms; press Ctrl-C again to force)`);
    armShutdownWatchdog(shutdownBudgetMs(config.drainGraceMs, config.redisTimeoutMs) + REDIS_STOP_MS, () => {
      say('kiln: the shutdown outlived the drain grace; exiting now');
      redisChild?.kill('SIGKILL');
    });
    await Promise.all([api.close(), spawner.stop()]);
    await stopChild(redisChild, REDIS_STOP_MS);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`kiln: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
