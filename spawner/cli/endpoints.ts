/** Where the CLI finds the API and the spawner, and the tokens it sends them. */
import { type Env, intEnv } from '../../core/config';
import { pathKnob } from '../project-root';
import { readToken, tokenFile } from '../token';
import { usageError } from './exit-codes';
import type { Endpoint } from './http';

/** A listen address as a host to connect to: a wildcard means this machine. */
function connectHost(listen: string | undefined): string {
  if (!listen || listen === '0.0.0.0') return '127.0.0.1';
  if (listen === '::') return '[::1]';
  return listen.includes(':') && !listen.startsWith('[') ? `[${listen}]` : listen;
}

function checkedBase(raw: string, flag: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw usageError(`${flag} "${raw}" is not an http(s) URL, e.g. http://127.0.0.1:8000`);
  }
  return raw.replace(/\/+$/, '');
}

export function apiEndpoint(env: Env, apiUrl: string | undefined): Endpoint {
  const raw = apiUrl ?? (env.KILN_API_URL || `http://${connectHost(env.API_HOST)}:${intEnv(env, 'API_PORT')}`);
  return {
    name: 'Kiln API',
    base: checkedBase(raw, apiUrl ? '--api-url' : 'KILN_API_URL'),
    token: env.KILN_API_TOKEN || undefined,
    startHint: 'start it with "npm start" in the Kiln folder (Redis, spawner and API), or point --api-url / KILN_API_URL at a running API',
    tokenHint: 'set KILN_API_TOKEN to the token the API was started with',
  };
}

export function spawnerEndpoint(env: Env, url: string | undefined): Endpoint {
  const raw = url ?? (env.WORKER_MANAGER_URL || `http://${connectHost(env.SPAWNER_HOST)}:${intEnv(env, 'SPAWNER_PORT')}`);
  const stateDir = pathKnob(env, 'KILN_STATE_DIR');
  return {
    name: 'spawner',
    base: checkedBase(raw, url ? '--url' : 'WORKER_MANAGER_URL'),
    token: env.SPAWNER_TOKEN || readToken(stateDir),
    startHint: 'start it with "kiln serve" or "npm start", or point --url / WORKER_MANAGER_URL at a running spawner',
    // the spawner's 401 names no path of its host; the CLI knows where it looked
    tokenHint: env.SPAWNER_TOKEN
      ? 'SPAWNER_TOKEN is set but is not the spawner\'s token'
      : `set SPAWNER_TOKEN to the spawner's token (read from ${tokenFile(stateDir)} when unset; KILN_STATE_DIR names the folder)`,
  };
}
