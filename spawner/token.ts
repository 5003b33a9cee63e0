/**
 * The bearer token of the spawner's mutating endpoints: SPAWNER_TOKEN, or one made
 * at first start into a 0600 file in the state folder that the API and CLI read.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_FILE_NAME } from '../core/config';

export function tokenFile(stateDir: string): string {
  return join(stateDir, TOKEN_FILE_NAME);
}

export function readToken(stateDir: string): string | undefined {
  try {
    const t = readFileSync(tokenFile(stateDir), 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

export function ensureToken(stateDir: string, fromEnv: string | undefined): string {
  if (fromEnv) return fromEnv;
  const existing = readToken(stateDir);
  if (existing) return existing;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(tokenFile(stateDir), `${token}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(tokenFile(stateDir), 0o600);
  return token;
}

export function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!.trim());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
