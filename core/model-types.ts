/**
 * Which worker type serves a model_type: the model families of the framework
 * registry (core/frameworks.ts). GPU jobs get the `-gpu` variant where one exists.
 */
import { FRAMEWORKS, type FrameworkInfo } from './frameworks';

// a Map: a model_type such as "constructor" or "__proto__" is unknown, not inherited
const TABLE = new Map<string, { cpu: string; gpu: string }>();
for (const f of Object.values(FRAMEWORKS as Record<string, FrameworkInfo>)) {
  for (const family of f.families) for (const m of family.models) TABLE.set(m, { cpu: family.cpu, gpu: family.gpu });
}

export const KNOWN_MODEL_TYPES: readonly string[] = [...TABLE.keys()].sort();

/** The worker type for a model, or undefined when the model type is unknown. */
export function workerTypeForModel(modelType: string, requiresGpu: boolean): string | undefined {
  const row = TABLE.get(modelType.toLowerCase());
  return row && (requiresGpu ? row.gpu : row.cpu);
}
