/**
 * How the API is fuzzed, the same in both runtimes (Node: tests/security-fuzz-api.test.ts,
 * workerd: tests/workers/security-fuzz.workers.test.ts, and `npm run fuzz` over HTTP):
 * every route of the app, its documented bodies and parameters, ids that exist next
 * to made-up ones, and the values that pick deeper code paths.
 */
import type fc from 'fast-check';
import { KNOWN_MODEL_TYPES } from '../../core/model-types';
import { type FuzzRequest, printable } from './http-arb';
import type { Sender } from './send';
import { type RouteSpec, requestArb, routeSpecs } from './routes';
import type { JsonSchema } from './schema-arb';

export const API_HINTS: Record<string, readonly string[]> = {
  model_type: [...KNOWN_MODEL_TYPES.slice(0, 6), 'random_forest', 'mlp', 'RANDOM_FOREST', '__proto__', 'constructor', 'toString'],
  worker_type: ['node', 'sklearn', 'pytorch-2.1', 'pytorch-2.1-gpu', 'tensorflow', 'no-such-type', '__proto__', 'constructor', 'prototype'],
  function: ['echo', 'sleep', 'fail', '__proto__', 'constructor', 'toString'],
  data_path: ['iris.csv', 'data/iris.csv', '/data/train.csv', '../etc/passwd', '/etc/passwd', 'a/../../b', 'x\u0000y', '.'],
  model_path: ['model.pkl', '../model.pkl', '/etc/passwd', 'contract-metrics-job', '__proto__'],
  status: ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'done'],
};

/**
 * A path parameter that stands for a job submitted just before the request is sent:
 * the fuzz cancels the jobs it knows within a few dozen requests, and a stream on a
 * job that never ends is what shows an abandoned stream (a HEAD, a client that
 * leaves) still polling.
 */
export const LIVE_JOB = 'live-job-placeholder';

/** Submits a fresh job for each request that names LIVE_JOB, and sends the request with its id. */
export function withLiveJobs(send: Sender, submit: () => Promise<string>): Sender {
  return async (req) => {
    if (!req.path.includes(LIVE_JOB)) return send(req);
    const id = await submit();
    return send(printable({ ...req, path: req.path.replaceAll(LIVE_JOB, id) }));
  };
}

/** GET /jobs/{id}/events answers a stream whenever it answers 2xx. */
export function apiStreams(req: FuzzRequest): boolean {
  if (req.method !== 'GET') return false;
  const path = req.path.split('?')[0]!;
  return /^\/jobs\/[^/]+\/events$/.test(path);
}

export interface ApiFuzzTarget {
  app: { routes: readonly { method: string; path: string }[] };
  doc: { paths?: Record<string, any>; components?: { schemas?: Record<string, JsonSchema> } };
  /** Job ids that exist (queued, running, finished, with logs and metrics). */
  jobIds: readonly string[];
  workerIds: readonly string[];
  assetNames: readonly string[];
  goodAuth: readonly string[];
  maxBodyChars: number;
  framingWithoutBody: boolean;
  bodyOnAnyMethod?: boolean;
  maxDepth?: number;
}

export function apiRoutes(t: Pick<ApiFuzzTarget, 'app' | 'doc'>): RouteSpec[] {
  return routeSpecs(t.app, t.doc);
}

export function apiRequestArb(t: ApiFuzzTarget): fc.Arbitrary<FuzzRequest> {
  const idParams = [LIVE_JOB, ...t.jobIds, ...t.workerIds];
  return requestArb({
    routes: apiRoutes(t),
    components: t.doc.components?.schemas ?? {},
    known: { id: idParams, file: t.assetNames },
    hints: { ...API_HINTS, model_path: [...API_HINTS.model_path!, ...t.jobIds] },
    goodAuth: t.goodAuth,
    maxBodyChars: t.maxBodyChars,
    framingWithoutBody: t.framingWithoutBody,
    ...(t.bodyOnAnyMethod !== undefined && { bodyOnAnyMethod: t.bodyOnAnyMethod }),
    ...(t.maxDepth !== undefined && { maxDepth: t.maxDepth }),
  });
}
