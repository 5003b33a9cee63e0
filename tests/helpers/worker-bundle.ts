/**
 * api/worker.ts bundled into one ES module, the way wrangler bundles it, for
 * Miniflare's API (`new Miniflare({ modules: true, scriptPath, modulesRoot })`).
 */
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkerBundle {
  scriptPath: string;
  modulesRoot: string;
  remove(): void;
}

export async function bundleWorker(entry = 'api/worker.ts'): Promise<WorkerBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-worker-bundle-'));
  const scriptPath = join(dir, 'worker.mjs');
  await build({
    entryPoints: [entry], outfile: scriptPath, bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning',
    platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'],
  });
  return { scriptPath, modulesRoot: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
