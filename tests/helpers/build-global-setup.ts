/**
 * Root globalSetup, run before every other: regenerates core/lua/scripts.ts and
 * core/lua/contracts.ts from core/lua/*.lua and rebuilds dist/, so a single test file
 * (`npx vitest run tests/lua/fail-job.test.ts`) never runs stale scripts or bundles.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  const run = (file: string) => execFileSync(process.execPath, [file], { stdio: ['ignore', 'ignore', 'inherit'] });
  run('scripts/gen-lua.mjs');
  run('scripts/build.mjs');
}
