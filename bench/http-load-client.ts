/**
 * The load generator of bench/http-load.ts in its own process, so it does not share
 * the server's event loop. Started (and loaded) before a measurement begins.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadResult } from './http-load';
import { firstMessage, stopProcess } from './processes';

export interface LoadClient {
  run(opts: LoadOptions): Promise<LoadResult>;
  stop(): Promise<void>;
}

export async function startLoadClient(): Promise<LoadClient> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./http-load-child.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await firstMessage(child, 'load client').catch(async (e: unknown) => {
    await stopProcess(child);
    throw e;
  });
  return {
    run: (opts) =>
      new Promise((resolve, reject) => {
        const gone = (code: number | null) => reject(new Error(`load client exited with ${code} before answering`));
        child.once('exit', gone);
        child.once('message', (m) => {
          child.off('exit', gone);
          resolve(m as LoadResult);
        });
        child.send(opts);
      }),
    stop: () => stopProcess(child),
  };
}

/** One load run in a fresh client process (started before the clock runs). */
export async function loadInChild(opts: LoadOptions): Promise<LoadResult> {
  const client = await startLoadClient();
  try {
    return await client.run(opts);
  } finally {
    await client.stop();
  }
}
