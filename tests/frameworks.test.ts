/** The framework registry: the TypeScript table and what the Python runner loads must agree. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FRAMEWORKS, type FrameworkInfo } from '../core/frameworks';
import { KNOWN_MODEL_TYPES, workerTypeForModel } from '../core/model-types';
import { DEFAULT_WORKER_TYPES } from '../core/schemas/worker-type';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const PY = `
import json
from kiln_runner import dispatch, frameworks
print(json.dumps({"registry": frameworks.REGISTRY, "modules": frameworks.MODULES, "builtin": dispatch.BUILTIN_MODULES,
                  "fake": frameworks.module_name("fake")}))
`;

describe('framework registry', () => {
  it('the Python runner loads the same table as core/frameworks.ts', async () => {
    const { stdout } = await run('/usr/bin/python3', ['-c', PY], { cwd: join(ROOT, 'worker-runtime', 'python'), env: { PATH: process.env.PATH ?? '' } });
    const py = JSON.parse(stdout) as { registry: Record<string, any>; modules: Record<string, [string, string]>; builtin: Record<string, string>; fake: string };
    const python = Object.entries(FRAMEWORKS as Record<string, FrameworkInfo>).filter(([, f]) => f.runtime === 'python');
    expect(Object.keys(py.registry).sort()).toEqual(python.map(([n]) => n).sort());
    for (const [name, f] of python) {
      const row = py.registry[name];
      expect({ name, ...row }).toEqual({
        name, import_name: f.importName, package: f.package, runner_module: f.runnerModule, default_max_jobs: f.defaultMaxJobs, gpu: f.gpu,
        families: f.families.map((x) => ({ cpu: x.cpu, gpu: x.gpu, models: [...x.models] })),
      });
      if (name !== 'fake') expect(py.modules[name]).toEqual([f.importName, f.package]);
      if (f.runnerModule) expect(py.builtin[name]).toBe(f.runnerModule);
    }
    expect(Object.keys(py.builtin).sort()).toEqual(python.filter(([, f]) => f.runnerModule).map(([n]) => n).sort());
    expect(py.fake).toBe(FRAMEWORKS.fake.importName);
  });

  it('the committed frameworks.json is what gen-frameworks writes (--check)', async () => {
    await expect(run(process.execPath, [join(ROOT, 'scripts', 'gen-frameworks.mjs'), '--check'], { cwd: ROOT })).resolves.toBeDefined();
  });

  it('model types, built-in worker types and default max_jobs come from the table', () => {
    for (const [name, f] of Object.entries(FRAMEWORKS as Record<string, FrameworkInfo>)) {
      for (const family of f.families) {
        for (const m of family.models) {
          expect(workerTypeForModel(m, false)).toBe(family.cpu);
          expect(workerTypeForModel(m, true)).toBe(family.gpu);
          expect(DEFAULT_WORKER_TYPES[family.cpu]?.framework).toBe(name);
        }
      }
    }
    expect(KNOWN_MODEL_TYPES).toContain('random_forest');
    for (const cfg of Object.values(DEFAULT_WORKER_TYPES)) expect(cfg.max_jobs).toBe(FRAMEWORKS[cfg.framework].defaultMaxJobs);
  });
});
