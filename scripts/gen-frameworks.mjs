// Writes worker-runtime/python/kiln_runner/frameworks.json from the framework
// registry in core/frameworks.ts, so the Python runner reads the same table as
// the TypeScript side. Committed: the runner needs it without a build.
// `--check` exits 1 when the committed file was out of date (and rewrites it).
import { build } from 'esbuild';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = await build({ entryPoints: [join(root, 'core', 'frameworks.ts')], bundle: true, format: 'esm', platform: 'neutral', write: false });
const mod = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
const out = mod.frameworksJson();
const target = join(root, 'worker-runtime', 'python', 'kiln_runner', 'frameworks.json');
const before = existsSync(target) ? readFileSync(target, 'utf8') : '';
if (before !== out) writeFileSync(target, out);
if (process.argv.includes('--check') && before !== out) {
  console.error('worker-runtime/python/kiln_runner/frameworks.json was out of date; regenerated');
  process.exit(1);
}
