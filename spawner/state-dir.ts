/**
 * The state folder ($KILN_STATE_DIR, default ./.kiln) holds the spawner token,
 * worker folders and logs, artifacts and the local Redis's data: only its owner
 * may enter it. It is created 0700 before anything is written into it; an
 * existing one that others may enter is tightened to 0700 when it is ours, and
 * warned about when it is not ours to change (a shared folder such as /tmp).
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';

export type StateDirOutcome = 'created' | 'private' | 'tightened' | 'left-open';

/** A folder only its owner may enter: created 0700 (with any missing parents) when absent. */
export function makePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}

/**
 * Makes the state folder private before anything is written into it.
 * `warn` hears what was changed, or why an open folder was left alone.
 */
export function prepareStateDir(dir: string, warn: (message: string) => void): StateDirOutcome {
  let mode: number;
  let uid: number;
  try {
    const st = statSync(dir);
    mode = st.mode;
    uid = st.uid;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    makePrivateDir(dir);
    return 'created';
  }
  const perms = mode & 0o7777;
  if ((perms & 0o077) === 0) return 'private';
  const mine = typeof process.getuid === 'function' ? process.getuid() === uid : true;
  // a sticky folder (/tmp) is shared by design: never take it from the others
  if (!mine || (perms & 0o1000) !== 0) {
    warn(`state folder ${dir} is open to other users (mode ${octal(perms)}) and is not Kiln's to change; set KILN_STATE_DIR to a folder of your own`);
    return 'left-open';
  }
  chmodSync(dir, 0o700);
  warn(`state folder ${dir} was open to other users (mode ${octal(perms)}); tightened to 0700`);
  return 'tightened';
}

const octal = (n: number) => `0${n.toString(8)}`;

/** The spawner's folders: the state folder, and the artifact root (created 0700 when absent, wherever it is). */
export function prepareSpawnerFolders(config: { stateDir: string; artifactRoot: string }, warn: (message: string) => void): void {
  prepareStateDir(config.stateDir, warn);
  makePrivateDir(config.artifactRoot);
}
