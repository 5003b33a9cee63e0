/**
 * What a Python worker's runner is started with, from the worker's boot description:
 * shared by the executor (worker-runtime/main.ts) and the early fork request
 * (worker-runtime/runner-prefork.ts), so both ask for the very same runner.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../core/config';
import type { WorkerBoot } from '../core/schemas/ipc';
import type { RunnerSpawnOptions } from './python-runner-process';

/** The folder holding kiln_runner: dist/worker.mjs and worker-runtime/*.ts both sit one level below the project root. */
export const RUNNER_PATH = fileURLToPath(new URL('../worker-runtime/python', import.meta.url));

/** The worker's environment (already allow-listed by the spawner) minus its boot description and template socket. */
export function runnerEnv(boot: WorkerBoot, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined && k !== 'KILN_WORKER' && k !== 'KILN_TEMPLATE_SOCKET') env[k] = v;
  return {
    ...env,
    ...boot.env,
    KILN_DATA_ROOT: boot.data_root,
    KILN_ARTIFACT_ROOT: boot.artifact_root,
    ...(boot.artifact_key_file && { KILN_ARTIFACT_KEY_FILE: boot.artifact_key_file }),
    ...(boot.handlers_dir && { KILN_HANDLERS_DIR: boot.handlers_dir }),
    ...(boot.model_cache && { KILN_MODEL_CACHE_SIZE: String(boot.model_cache.size) }),
    ...(boot.model_cache?.mb !== undefined && { KILN_MODEL_CACHE_MB: String(boot.model_cache.mb) }),
  };
}

export function runnerOptions(boot: WorkerBoot): RunnerSpawnOptions {
  return {
    python: boot.python ?? DEFAULTS.KILN_PYTHON,
    framework: boot.framework,
    cwd: process.cwd(),
    env: runnerEnv(boot),
    pythonPath: boot.python_path,
    onStderr: (line: string) => process.stderr.write(`${line}\n`),
  };
}
