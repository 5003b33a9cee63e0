/**
 * Bounds of the built-in handlers' hyperparameters: a submit to a built-in model
 * type with a value outside them is a 400, before anything is queued. The Python
 * handlers hold the same table (worker-runtime/python/kiln_runner/handlers/bounds.py)
 * and check again; tests/security-quotas.test.ts fails when the two drift apart.
 */
import { badRequest } from './errors';

export interface Bound {
  kind: 'int' | 'number' | 'int-list';
  min: number;
  max: number;
  /** The value must stay below max (test_size: a fraction of the rows). */
  maxExclusive?: boolean;
  /** int-list: at most this many items, each in [min, max]. */
  maxItems?: number;
}

export const HYPERPARAMETER_BOUNDS: Readonly<Record<string, Bound>> = {
  // scikit-learn
  n_estimators: { kind: 'int', min: 1, max: 5000 },
  max_iter: { kind: 'int', min: 1, max: 100_000 },
  max_depth: { kind: 'int', min: 1, max: 1000 },
  n_neighbors: { kind: 'int', min: 1, max: 10_000 },
  n_clusters: { kind: 'int', min: 1, max: 10_000 },
  n_init: { kind: 'int', min: 1, max: 1000 },
  // neural networks (PyTorch, Keras)
  epochs: { kind: 'int', min: 1, max: 10_000 },
  batch_size: { kind: 'int', min: 1, max: 65_536 },
  learning_rate: { kind: 'number', min: 1e-9, max: 10 },
  hidden_sizes: { kind: 'int-list', min: 1, max: 16_384, maxItems: 32 },
  hidden: { kind: 'int', min: 1, max: 8192 },
  hidden_size: { kind: 'int', min: 1, max: 8192 },
  layers: { kind: 'int', min: 1, max: 48 },
  num_layers: { kind: 'int', min: 1, max: 48 },
  d_model: { kind: 'int', min: 1, max: 4096 },
  heads: { kind: 'int', min: 1, max: 64 },
  ff: { kind: 'int', min: 1, max: 16_384 },
  channels: { kind: 'int', min: 1, max: 1024 },
  dropout: { kind: 'number', min: 0, max: 1, maxExclusive: true },
  synthetic_rows: { kind: 'int', min: 2, max: 1_000_000 },
  synthetic_features: { kind: 'int', min: 1, max: 1024 },
  // every trainer
  random_state: { kind: 'int', min: 0, max: 4_294_967_295 },
  test_size: { kind: 'number', min: 0, max: 1, maxExclusive: true },
};

/** How a bound reads in a message: "an integer in [1, 5000]". */
export function describeBound(b: Bound): string {
  const range = `[${b.min}, ${b.max}${b.maxExclusive ? ')' : ']'}`;
  if (b.kind === 'int-list') return `a list of at most ${b.maxItems ?? 0} integers, each in ${range}`;
  return `${b.kind === 'int' ? 'an integer' : 'a number'} in ${range}`;
}

const inRange = (b: Bound, v: unknown): boolean =>
  typeof v === 'number' && Number.isFinite(v) && (b.kind === 'number' || Number.isInteger(v)) &&
  v >= b.min && (b.maxExclusive ? v < b.max : v <= b.max);

/** Whether a value fits its bound (null: the handler's default). */
export function fitsBound(b: Bound, value: unknown): boolean {
  if (value === null) return true;
  if (b.kind !== 'int-list') return inRange(b, value);
  return Array.isArray(value) && value.length >= 1 && value.length <= (b.maxItems ?? Infinity) &&
    value.every((item) => inRange({ ...b, kind: 'int' }, item));
}

/** A 400 naming the first known hyperparameter outside its bounds (unknown names pass: the handler decides). */
export function checkHyperparameters(hp: Record<string, unknown> | undefined): void {
  if (!hp) return;
  for (const [name, value] of Object.entries(hp)) {
    const bound = Object.hasOwn(HYPERPARAMETER_BOUNDS, name) ? HYPERPARAMETER_BOUNDS[name] : undefined;
    if (bound && !fitsBound(bound, value)) {
      throw badRequest(
        'HYPERPARAMETER_OUT_OF_RANGE',
        `hyperparameters.${name} must be ${describeBound(bound)}, not ${JSON.stringify(value)?.slice(0, 80)}; lower it (or leave it out for the default)`,
        `hyperparameters.${name}`,
      );
    }
  }
}
