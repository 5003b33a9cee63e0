/**
 * An inference job's model_path names the training job that made its model, and
 * nothing else: it must exist, have succeeded, be a training job, and have run on
 * a worker type of the inference's framework. Checked at submit (a 4xx, not a
 * failed job); the runner then checks the artifact's digest before loading it.
 */
import { badRequest, KilnError } from '../core/errors';
import { parseJob } from '../core/job-store';
import { DEFAULT_WORKER_TYPES } from '../core/schemas/worker-type';
import type { AppDeps } from './deps';

/** Frameworks whose built-in handlers load a model: they also insist on the same model_type. */
const BUILT_IN_MODEL_FRAMEWORKS = ['sklearn', 'pytorch', 'tensorflow'];

const FIELD = 'model_path';

/** The framework of a worker type: as a spawner registered it, else the built-in type's. */
function frameworkOf(type: string, registry: Record<string, string>): string | undefined {
  const registered = Object.hasOwn(registry, type) ? registry[type] : undefined;
  if (registered !== undefined) {
    try {
      const framework = (JSON.parse(registered) as { framework?: unknown }).framework;
      if (typeof framework === 'string') return framework;
    } catch {
      // an unreadable entry: fall back to the built-in types
    }
  }
  return Object.hasOwn(DEFAULT_WORKER_TYPES, type) ? DEFAULT_WORKER_TYPES[type]!.framework : undefined;
}

/** `type`: the inference's worker type; `body`: its validated payload. */
export async function checkModelRef(deps: AppDeps, type: string, body: { model_path: string; model_type: string }): Promise<void> {
  const modelPath = body.model_path;
  const inference = { type, modelType: body.model_type };
  const [hash, registry] = await deps.redis.hgetallMany([deps.keys.job(modelPath), deps.keys.types()]);
  const job = parseJob(hash ?? {});
  if (!job) {
    throw new KilnError('MODEL_NOT_FOUND', `model_path: no job ${modelPath} (it never existed, or expired after its retention time); pass the job_id of a training job that succeeded`, { status: 404, field: FIELD });
  }
  if (job.kind !== 'training') {
    throw new KilnError('MODEL_NOT_FOUND', `model_path: job ${modelPath} is a ${job.kind} job, not a training job, so it made no model; pass the job_id of a training job that succeeded`, { status: 404, field: FIELD });
  }
  if (job.status !== 'succeeded') {
    const why = job.status === 'failed' || job.status === 'cancelled'
      ? `${job.status}, so it made no model; train again and pass the new job's id`
      : `still ${job.status}; wait until it has succeeded (GET /jobs/${modelPath}) and submit again`;
    throw new KilnError('MODEL_NOT_READY', `model_path: training job ${modelPath} is ${why}`, { status: 409, field: FIELD });
  }
  const types = registry ?? {};
  const made = frameworkOf(job.type, types);
  const wanted = frameworkOf(inference.type, types);
  const compatible = made !== undefined && wanted !== undefined ? made === wanted : job.type === inference.type;
  if (!compatible) {
    throw badRequest(
      'MODEL_INCOMPATIBLE',
      `model_path: training job ${modelPath} made a ${made ?? job.type} model (worker type ${job.type}), and this inference would run on ${wanted ?? inference.type} (worker type ${inference.type}); pass a model_type or worker_type of the model's framework, or the id of a ${wanted ?? inference.type} training job`,
      FIELD,
    );
  }
  const trained = (job.payload as { model_type?: unknown } | null)?.model_type;
  if (made !== undefined && BUILT_IN_MODEL_FRAMEWORKS.includes(made) && typeof trained === 'string' && trained.toLowerCase() !== inference.modelType.toLowerCase()) {
    throw badRequest('MODEL_INCOMPATIBLE', `model_path: training job ${modelPath} made a ${trained} model, not ${inference.modelType}; pass model_type "${trained}"`, FIELD);
  }
}
