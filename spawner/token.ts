/**
 * The bearer token of the spawner's endpoints (all but GET /health): SPAWNER_TOKEN,
 * or one made at first start into a 0600 file in the state folder that the API and
 * CLI read.
 */
import type { Context } from 'hono';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TOKEN_FILE_NAME } from '../core/config';

export function tokenFile(stateDir: string): string {
  return join(stateDir, TOKEN_FILE_NAME);
}

export function readToken(stateDir: string): string | undefined {
  return readTokenFile(tokenFile(stateDir));
}

export function readTokenFile(file: string): string | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

export function ensureToken(stateDir: string, fromEnv: string | undefined): string {
  return ensureTokenFile(tokenFile(stateDir), fromEnv);
}

/** A token from the environment, else the one in `file`, else a new one written there (0600). */
export function ensureTokenFile(file: string, fromEnv: string | undefined): string {
  if (fromEnv) return fromEnv;
  const existing = readTokenFile(file);
  if (existing) return existing;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return token;
}

export function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!.trim());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Where the token comes from, as a 401 tells a client: no path of this host. */
export const TOKEN_HINT = "SPAWNER_TOKEN, or the file spawner.token in the spawner's state folder (KILN_STATE_DIR, default .kiln)";

/** The spawner's one 401 answer. */
export function unauthorized(c: Context): Response {
  return c.json({ error: { code: 'UNAUTHORIZED', message: `missing or wrong bearer token: send Authorization: Bearer <token>; the token is ${TOKEN_HINT}` } }, 401);
}
