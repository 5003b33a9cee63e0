/**
 * What the world may know of a worker type: its config without what must stay on
 * its host. The interpreter (`python`), its `python_path` and the values of `env`
 * never leave it; `env` is shown by variable name only. The spawner writes this
 * shape into the types registry in Redis, and every view (the API's and the
 * spawner's GET /workers/types, the dashboard) answers it.
 */
import type { WorkerTypeConfig } from './schemas/worker-type';

/** Config fields that stay on the host that configured them. */
const HOST_ONLY: ReadonlySet<string> = new Set(['python', 'python_path', 'env']);

/** The names of a type's environment variables, sorted: from a config's record, or a registry entry's list. */
export function envNames(env: unknown): string[] {
  if (Array.isArray(env)) return env.filter((n): n is string => typeof n === 'string').sort();
  if (env && typeof env === 'object') return Object.keys(env).sort();
  return [];
}

/**
 * A registry entry or config as the world may see it. It also cleans entries an
 * older spawner wrote with env values in them: whatever the input, the answer
 * carries env names only and no interpreter.
 */
export function publicWorkerType(raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!HOST_ONLY.has(k)) out[k] = v;
  out.env = envNames(raw.env);
  return out;
}

/** The types registry entry a spawner publishes for one of its types (a JSON string). */
export function registryEntry(cfg: WorkerTypeConfig, host: string): string {
  return JSON.stringify({ ...publicWorkerType(cfg), host });
}

/** A registry entry read back from Redis, as views show it (null: not a JSON object). */
export function parseRegistryEntry(json: string | undefined): Record<string, unknown> | null {
  if (json === undefined) return null;
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? publicWorkerType(v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** True when an entry read from Redis carries anything a view would strip (written by an older spawner). */
export function needsScrub(json: string): boolean {
  try {
    const v = JSON.parse(json) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    return Object.hasOwn(o, 'python') || Object.hasOwn(o, 'python_path') || (Object.hasOwn(o, 'env') && !Array.isArray(o.env));
  } catch {
    return false;
  }
}
