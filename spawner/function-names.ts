/**
 * The Node function names the API checks `POST /jobs {"function": …}` against. A short-lived
 * child process imports KILN_FUNCTIONS_MODULE and prints its function exports (the spawner
 * never runs user code in its own process); the names, with the built-ins, are registered
 * under this host in keys.functions(). The file is watched: on a change the names are read
 * again, and the node workers drain, so that the ones started next load the new version.
 */
import { execFile } from 'node:child_process';
import { existsSync, type FSWatcher, watch } from 'node:fs';
import { dirname, basename } from 'node:path';
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys';
import type { LogFn } from '../core/logger';
import { builtinFunctions } from '../worker-runtime/functions/builtins';

/** Imports the module given as argv[1] and prints the names of its function exports (as the worker's loadFunctions reads them). */
const LIST_SCRIPT = `
const { pathToFileURL } = await import('node:url');
const m = await import(pathToFileURL(process.argv[1]).href + '?v=' + Date.now());
const src = m.default && typeof m.default === 'object' ? m.default : m;
process.stdout.write(JSON.stringify(Object.keys(src).filter((k) => typeof src[k] === 'function')));
`;

const READ_TIMEOUT_MS = 15_000;
const DEBOUNCE_MS = 200;

/** Says which variable and path are wrong; thrown at spawner start. */
export function missingModuleError(path: string): Error {
  return new Error(`KILN_FUNCTIONS_MODULE is ${path}, which does not exist; fix the path (it is resolved against the spawner's working folder) or unset it`);
}

/** The function names the module exports, read by a child process; rejects with why it could not be imported. */
export function readFunctionNames(modulePath: string, cwd: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // a small environment: the module's top level runs here, and needs no secret of the spawner's
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    execFile(process.execPath, ['--input-type=module', '-e', LIST_SCRIPT, modulePath], { cwd, env, timeout: READ_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = /^\w*Error: .*$/m.exec(stderr)?.[0] ?? (stderr.trim().split('\n').at(-1) || err.message);
        return reject(new Error(`KILN_FUNCTIONS_MODULE ${modulePath} could not be imported: ${why}`));
      }
      try {
        const names = JSON.parse(stdout) as unknown;
        if (!Array.isArray(names)) throw new Error('not a list');
        resolve(names.filter((n): n is string => typeof n === 'string'));
      } catch {
        reject(new Error(`KILN_FUNCTIONS_MODULE ${modulePath}: its function names could not be read`));
      }
    });
  });
}

export interface FunctionNamesDeps {
  redis: Redis;
  keys: Keys;
  hostId: string;
  modulePath: string | undefined;
  cwd: string;
  log: LogFn;
  /** The module changed and its names were read again: drain the node workers. */
  onChange(): void;
}

export function createFunctionNames(deps: FunctionNamesDeps) {
  const { redis, keys, hostId, modulePath } = deps;
  const builtins = Object.keys(builtinFunctions);
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  /** Reads and registers the names; a module that cannot be imported takes this host's names back (the API then accepts any, as the workers will say). */
  async function refresh(): Promise<string[] | undefined> {
    if (!modulePath) {
      await redis.hset(keys.functions(), hostId, JSON.stringify(builtins));
      return builtins;
    }
    try {
      const names = [...new Set([...builtins, ...(await readFunctionNames(modulePath, deps.cwd))])].sort();
      if (!closed) await redis.hset(keys.functions(), hostId, JSON.stringify(names));
      return names;
    } catch (err) {
      deps.log('error', err instanceof Error ? err.message : String(err));
      if (!closed) await redis.hdel(keys.functions(), hostId);
      return undefined;
    }
  }

  function onFileEvent(): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void refresh().then((names) => {
        if (closed) return;
        deps.log('info', `KILN_FUNCTIONS_MODULE ${modulePath} changed${names ? `: functions ${names.join(', ')}` : ''}; node workers drain and the next ones load it`);
        deps.onChange();
      }, (err: unknown) => deps.log('warn', `could not register the function names: ${String(err)}`));
    }, DEBOUNCE_MS);
  }

  return {
    /** At spawner start: a path that does not exist throws; the names are registered. */
    async start(): Promise<void> {
      if (modulePath && !existsSync(modulePath)) throw missingModuleError(modulePath);
      const names = await refresh();
      if (names && modulePath) deps.log('info', `functions from ${modulePath}: ${names.join(', ')}`);
      if (!modulePath) return;
      // the folder, not the file: editors replace files by renaming, which ends a watch on the file itself
      const file = basename(modulePath);
      watcher = watch(dirname(modulePath), (_event, name) => {
        if (name === null || name === file) onFileEvent();
      });
      watcher.on('error', (err) => deps.log('warn', `watching ${modulePath} failed: ${err.message}`));
      watcher.unref();
    },
    refresh,
    /** Stops watching and takes back this host's names. */
    async stop(): Promise<void> {
      closed = true;
      watcher?.close();
      if (timer) clearTimeout(timer);
      await redis.hdel(keys.functions(), hostId);
    },
  };
}
