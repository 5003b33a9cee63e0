/**
 * `console.*` inside a Node function goes to the log of the job that called it, even
 * with many jobs running at once in one worker: the job's sink travels with its async
 * context (AsyncLocalStorage) through awaits, timers and callbacks. Outside any job the
 * original console writes, as before (the worker's own output).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format, inspect } from 'node:util';

export type OutputSink = (stream: 'stdout' | 'stderr', text: string) => void;

export interface JobConsole {
  /** Runs `fn` with console output going to `sink`. */
  run<T>(sink: OutputSink, fn: () => T): T;
}

const INSTALLED = Symbol.for('kiln.jobConsole');

type Method = 'log' | 'info' | 'debug' | 'warn' | 'error' | 'trace' | 'dir';
const STREAM: Record<Method, 'stdout' | 'stderr'> = {
  log: 'stdout', info: 'stdout', debug: 'stdout', dir: 'stdout', warn: 'stderr', error: 'stderr', trace: 'stderr',
};

function text(method: Method, args: unknown[]): string {
  if (method === 'dir') return inspect(args[0], { customInspect: false, ...(args[1] as object | undefined) });
  if (method === 'trace') {
    const stack = (new Error().stack ?? '').split('\n').slice(3).join('\n');
    return `Trace${args.length ? `: ${format(...args)}` : ''}\n${stack}`;
  }
  return format(...args);
}

/** Patches `target` (the global console) once per process; later calls return the same JobConsole. */
export function installJobConsole(target: Console = console): JobConsole {
  const existing = (target as unknown as Record<symbol, JobConsole | undefined>)[INSTALLED];
  if (existing) return existing;
  const store = new AsyncLocalStorage<OutputSink>();
  for (const method of Object.keys(STREAM) as Method[]) {
    const original = target[method] as (...args: unknown[]) => void;
    const stream = STREAM[method];
    (target as unknown as Record<Method, (...args: unknown[]) => void>)[method] = function patched(this: unknown, ...args: unknown[]) {
      const sink = store.getStore();
      if (!sink) return original.apply(target, args);
      try {
        sink(stream, text(method, args));
      } catch {
        // a job's log must never break the job
      }
    };
  }
  const jobConsole: JobConsole = { run: (sink, fn) => store.run(sink, fn) };
  Object.defineProperty(target, INSTALLED, { value: jobConsole });
  return jobConsole;
}
