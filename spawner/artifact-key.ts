/**
 * The install's artifact key: Python runners seal each model they train with an
 * HMAC-SHA256 under it and refuse to load a model whose seal does not match. It is
 * made at first start into a 0600 file in the state folder (like the spawner's
 * token) and reaches runners as the file's path (KILN_ARTIFACT_KEY_FILE), never as
 * a value in an environment, a message, a view or a log.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../core/errors';

export const ARTIFACT_KEY_FILE_NAME = 'artifact.key';
/** What the runner accepts (kiln_runner/artifact_digest.py): 32 bytes of base64url text or more. */
const MIN_KEY_CHARS = 32;

/** Makes the key file if there is none; refuses one that others may read or that is too short. */
export function ensureArtifactKey(file: string): void {
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      return ensureArtifactKey(file);
    }
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw badKey(file, `cannot be created: ${(err as Error).message}`);
  }
  let mode: number;
  let key: string;
  try {
    mode = statSync(file).mode & 0o777;
    key = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw badKey(file, `cannot be read: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) throw badKey(file, `may be read by other users (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 on it`);
  if (key.length < MIN_KEY_CHARS) throw badKey(file, `holds fewer than ${MIN_KEY_CHARS} characters; delete it to have a new key made (models trained under the old key must be trained again)`);
}

const badKey = (file: string, why: string) => new KilnError('BAD_CONFIG', `the artifact key file ${file} (KILN_ARTIFACT_KEY_FILE) ${why}`);
