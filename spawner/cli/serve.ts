/** `serve`: the spawner daemon. Imported only by this command, so client commands never load it. */
import { loadSpawnerConfig } from '../config';
import { startSpawner } from '../daemon';

export async function serveCommand(strict: boolean): Promise<void> {
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
