/**
 * Turns a validated submit body into a job: picks the worker type, enqueues it
 * atomically, then asks the spawner for a worker (best effort).
 */
import { badRequest, KilnError } from '../core/errors';
import { checkHyperparameters } from '../core/hyperparameters';
import { KNOWN_MODEL_TYPES, workerTypeForModel } from '../core/model-types';
import { isPrototypeName } from '../core/own-keys';
import type { FunctionRequest, InferenceRequest, JobKind, TrainingRequest, TypedRequest } from '../core/schemas/job';
import { DEFAULT_WORKER_TYPE_NAMES } from '../core/schemas/worker-type';
import type { ApiDeps, AppDeps } from './deps';
import { checkModelRef } from './model-ref';

export interface Submission {
  kind: JobKind;
  type: string;
  payload: unknown;
  priority?: number | undefined;
  timeout_s?: number | undefined;
  max_attempts?: number | undefined;
  backoff?: { delay_ms: number; max_ms?: number | undefined } | undefined;
  queued_ttl_s?: number | undefined;
}

export function trainingSubmission(body: TrainingRequest | InferenceRequest, kind: 'training' | 'inference', dataRoot?: string): Submission {
  const { priority, timeout_s, max_attempts, worker_type, backoff, queued_ttl_s, ...payload } = body;
  const type = worker_type ?? workerTypeForModel(body.model_type, body.requires_gpu);
  if (!type) {
    throw badRequest(
      'UNKNOWN_MODEL_TYPE',
      `unknown model_type "${body.model_type}"; known model types: ${KNOWN_MODEL_TYPES.join(', ')} — or pass worker_type to choose the worker type yourself`,
      'model_type',
    );
  }
  checkDataPath(body.data_path, 'data_path', dataRoot);
  checkHyperparameters(body.hyperparameters);
  return { kind, type, payload, priority, timeout_s, max_attempts, backoff, queued_ttl_s };
}

export function genericSubmission(body: FunctionRequest | TypedRequest): Submission {
  if ('function' in body) {
    if (isPrototypeName(body.function)) {
      throw badRequest('UNKNOWN_FUNCTION', `unknown function "${body.function}": no function may be named like a property of every JavaScript object (constructor, toString, __proto__, …); name a function your workers export`, 'function');
    }
    const { priority, timeout_s, max_attempts, worker_type, backoff, queued_ttl_s } = body;
    return { kind: 'function', type: worker_type ?? 'node', payload: { function: body.function, input: body.input ?? null }, priority, timeout_s, max_attempts, backoff, queued_ttl_s };
  }
  const { priority, timeout_s, max_attempts, worker_type, backoff, queued_ttl_s } = body;
  return { kind: 'generic', type: worker_type, payload: body.payload ?? null, priority, timeout_s, max_attempts, backoff, queued_ttl_s };
}

/** data_path must stay inside the data root: relative, or absolute only under it (checked again by the runner). */
function checkDataPath(path: string | undefined, field: string, dataRoot: string | undefined): void {
  if (path === undefined) return;
  if (path.split(/[\\/]+/).includes('..')) {
    throw badRequest('PATH_OUTSIDE_DATA_ROOT', `${field} must not contain ".."; give a path inside the data root`, field);
  }
  if (path.includes('\0')) throw badRequest('INVALID_PATH', `${field} contains a NUL byte`, field);
  if (dataRoot && path.startsWith('/')) {
    const root = dataRoot.endsWith('/') ? dataRoot : `${dataRoot}/`;
    if (!path.startsWith(root)) {
      throw badRequest('PATH_OUTSIDE_DATA_ROOT', `${field} ${path} is outside the data root ${dataRoot}; give a path relative to it, or an absolute one inside it`, field);
    }
  }
}

/** requires_gpu when no spawner has a GPU is refused (unless configured to queue anyway). */
async function checkGpuAvailable(deps: AppDeps): Promise<void> {
  const hosts = await deps.redis.hgetall(deps.keys.hosts());
  const fresh = deps.now() - 60_000;
  for (const json of Object.values(hosts)) {
    try {
      const h = JSON.parse(json) as { gpus?: number; heartbeat?: number };
      if ((h.gpus ?? 0) > 0 && (h.heartbeat ?? 0) > fresh) return;
    } catch {
      // a malformed entry counts as no GPU
    }
  }
  throw new KilnError(
    'NO_GPU',
    'requires_gpu is true but no running spawner has a GPU (none registered in the last 60 s); submit with requires_gpu false, start a spawner on a GPU host, or set KILN_GPU_QUEUE_WITHOUT_GPUS=true to queue such jobs anyway',
    { status: 409, field: 'requires_gpu' },
  );
}

/** What an Idempotency-Key header may hold. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

async function fingerprint(kind: string, body: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(`${kind}\n${JSON.stringify(body)}`);
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function submitJob(deps: ApiDeps, sub: Submission, rawBody: unknown, idempotencyKey: string | undefined) {
  const { config } = deps;
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    throw new KilnError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 printable ASCII characters without spaces', { status: 400, field: 'Idempotency-Key' });
  }
  if (sub.kind === 'inference') await checkModelRef(deps, sub.type, sub.payload as InferenceRequest);
  if (sub.kind === 'function') {
    const checking = deps.checkFunctionName((sub.payload as { function: string }).function);
    if (checking) await checking;
  }
  if (config.rejectGpuWithoutGpus && (sub.payload as { requires_gpu?: unknown } | null)?.requires_gpu === true) await checkGpuAvailable(deps);
  const { store } = deps;
  const known = DEFAULT_WORKER_TYPE_NAMES.includes(sub.type);
  const res = await store.enqueue({
    id: deps.newId(),
    type: sub.type,
    kind: sub.kind,
    payload: sub.payload,
    priority: sub.priority ?? 0,
    maxAttempts: sub.max_attempts,
    defaultMaxAttempts: config.defaultMaxAttempts,
    timeoutMs: Math.round((sub.timeout_s ?? 0) * 1000),
    now: deps.now(),
    // A type a spawner registered is always accepted; with no spawner registered yet only the defaults are.
    typeCheck: known ? 'default' : 'custom',
    ...(sub.backoff && { backoff: JSON.stringify(sub.backoff) }),
    ...(sub.queued_ttl_s !== undefined && { queuedTtlMs: Math.round(sub.queued_ttl_s * 1000) }),
    defaultQueuedTtlMs: config.queuedTtlS * 1000,
    defaultMaxQueued: config.maxQueued,
    ...(idempotencyKey === undefined
      ? {}
      : { idempotency: { key: idempotencyKey, fingerprint: await fingerprint(sub.kind, rawBody), ttlMs: config.idempotencyTtlMs } }),
  });
  if (!res.created) {
    const job = await store.get(res.id);
    return { status: 200, body: { job_id: res.id, status: job?.status ?? 'unknown', worker_type: sub.type, idempotent_replay: true } };
  }
  // The ensure call is a fast path for cold starts only: with a worker already there,
  // the spawners' reconcile loops do the scaling and the submit skips a round trip.
  const ensure = res.workers > 0 ? { ok: true as const, action: 'existing' } : await deps.spawner.ensure(sub.type);
  return {
    status: 202,
    body: {
      job_id: res.id,
      status: 'queued',
      worker_type: sub.type,
      worker_ensured: ensure.ok,
      ...(ensure.ok ? { ensure_action: ensure.action } : { ensure_error: ensure.reason }),
      ...(ensure.ok && 'worker_id' in ensure && ensure.worker_id && { ensure_worker_id: ensure.worker_id }),
    },
  };
}
