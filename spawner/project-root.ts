/** The project root: one level up from this file, whether it runs from spawner/ or from a bundle in dist/. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
