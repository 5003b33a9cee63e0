/**
 * api/workerd.ts bundled into one ES module, the way wrangler bundles it, for
 * Miniflare's API (`new Miniflare({ modules: true, scriptPath, modulesRoot })`).
 */
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkerdBundle {
  scriptPath: string;
  modulesRoot: string;
  remove(): void;
}

export async function bundleWorkerd(entry = 'api/workerd.ts'): Promise<WorkerdBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-workerd-bundle-'));
  const scriptPath = join(dir, 'workerd.mjs');
  await build({
    entryPoints: [entry], outfile: scriptPath, bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning',
    platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'],
  });
  return { scriptPath, modulesRoot: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
