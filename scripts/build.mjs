// Bundles each Node entry into one ESM file under dist/. A worker process starts
// from a single pre-built file: no TypeScript loader and no module resolution
// across node_modules at spawn time (see shared/notes/toolchain.md).
// The two CLI entries are built apart, with code splitting: a command's module
// (and the daemon, for `serve` only) is a chunk loaded when that command runs,
// so `kiln --help` or `kiln jobs list` never parses ioredis or the supervisor.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';

const common = {
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
};

await build({
  ...common,
  entryPoints: {
    worker: 'worker-runtime/main.ts',
    api: 'api/node-main.ts',
    start: 'scripts/start.ts',
    'dev-edge': 'scripts/dev-edge.ts',
  },
});

// Chunks sit in dist/ itself (not a subfolder): spawner/project-root.ts finds the
// project one level above the file it is bundled into. Old chunks are removed first.
for (const f of readdirSync('dist', { withFileTypes: true })) {
  if (f.isFile() && /^cli-.*-[A-Z0-9]{8}\.mjs(\.map)?$/.test(f.name)) rmSync(`dist/${f.name}`);
}
await build({
  ...common,
  entryPoints: { cli: 'spawner/cli.ts', kiln: 'spawner/kiln.ts' },
  splitting: true,
  chunkNames: 'cli-[name]-[hash]',
});
