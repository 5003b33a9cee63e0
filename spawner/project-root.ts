/** The project root: one level up from this file, whether it runs from spawner/ or from a bundle in dist/. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, type Env } from '../core/config';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A path knob: its value (resolved from the working folder), or its default (core/config.ts DEFAULTS) under the project root. */
export function pathKnob(env: Env, name: 'KILN_STATE_DIR' | 'DATA_ROOT' | 'KILN_WORKER_SCRIPT'): string {
  const set = env[name];
  return set ? resolve(set) : resolve(PROJECT_ROOT, DEFAULTS[name]);
}
