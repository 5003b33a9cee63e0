/** `serve`: the spawner daemon. Imported only by this command, so client commands never load it. */
import { loadSpawnerConfig } from '../config';
import { startSpawner } from '../daemon';
import { armShutdownWatchdog, FORCED_STOP_WAIT_MS, shutdownBudgetMs } from '../shutdown-watchdog';

export async function serveCommand(strict: boolean): Promise<void> {
  const config = loadSpawnerConfig(process.env);
  const daemon = await startSpawner({ ...config, strictRedis: config.strictRedis || strict });
  let signals = 0;
  const shutdown = (sig: string) => {
    signals++;
    if (signals > 1) {
      // a second signal: kill the workers now, give their exits a moment to be recorded, exit
      daemon.logger.warn(`second ${sig}: killing workers now`);
      const stopped = daemon.stop(0);
      void Promise.race([stopped, new Promise((r) => setTimeout(r, FORCED_STOP_WAIT_MS))]).then(() => process.exit(130));
      return;
    }
    daemon.logger.info(`${sig}: draining workers (up to ${config.drainGraceMs} ms; again to force)`);
    armShutdownWatchdog(shutdownBudgetMs(config.drainGraceMs, config.redisTimeoutMs), () =>
      daemon.logger.error("shutdown outlived the drain grace; exiting now (the next run's recovery requeues what is left)"));
    void daemon.stop().then(() => process.exit(signals > 1 ? 130 : 0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
