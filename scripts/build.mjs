// Bundles each Node entry into one ESM file under dist/. A worker process starts
// from a single pre-built file: no TypeScript loader and no module resolution
// across node_modules at spawn time (see shared/notes/toolchain.md).
import { build } from 'esbuild';

const entries = {
  worker: 'worker-runtime/main.ts',
  cli: 'spawner/cli.ts',
  api: 'api/node-main.ts',
  start: 'scripts/start.ts',
  'dev-edge': 'scripts/dev-edge.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // CommonJS dependencies (ioredis) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);" },
});
