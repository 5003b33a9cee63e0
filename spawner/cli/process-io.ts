/** The real terminal, clock, HTTP and signals behind CliIo; and a clean exit. */
import type { CliIo } from './context';
import { nodeTransport } from './transport';

export function processIo(): CliIo {
  // `kiln jobs list | head`: a closed pipe ends the command quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY: process.stdout.isTTY === true,
    columns: () => process.stdout.columns || 80,
    now: Date.now,
    sleep: (ms, signal) => new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
    env: process.env,
    http: nodeTransport,
    onInterrupt(fn) {
      const h = () => fn();
      process.on('SIGINT', h);
      process.on('SIGTERM', h);
      return () => {
        process.off('SIGINT', h);
        process.off('SIGTERM', h);
      };
    },
  };
}

/**
 * Exits once stdout and stderr have taken every write, without waiting for idle
 * sockets or timers of a command that is done.
 */
export function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

