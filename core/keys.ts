/**
 * The one place Redis key names are built. Every key carries the prefix inside a
 * hash tag (`{kiln}:...`) so that all of Kiln's keys share one Redis Cluster slot
 * and multi-key Lua scripts stay legal there.
 */
export type JobStatus = 'queued' | 'delayed' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export interface Keys {
  readonly prefix: string;
  /** Prefix of job hashes, for scripts that learn a job id only while running. */
  readonly jobPrefix: string;
  job(id: string): string;
  /** Stream of a job's log lines (fields `s` stream, `t` text; the entry id gives the time). */
  logs(jobId: string): string;
  /** Prefix of job log streams, for scripts that learn a job id only while running. */
  readonly logPrefix: string;
  /**
   * Stream: a job's capped progress history (one entry per point). Always the job
   * hash's key + ':progress', so the finishing Lua scripts, which know only the job
   * key, expire it with the job.
   */
  progressHistory(id: string): string;
  queue(type: string): string;
  notify(type: string): string;
  active(workerId: string): string;
  /** Set: the models (training job ids) a worker's runner holds loaded (affinity; set-worker-models.lua). */
  workerModels(workerId: string): string;
  /** Prefix of a model's set of holding workers (`modelHolders + <training job id>`). */
  readonly modelHolders: string;
  /** A worker's own notify list: a claim that leaves a job to this idle worker (it holds the model) wakes it. */
  workerNotify(workerId: string): string;
  /** Prefix of worker hashes (`workerPrefix + <id>`), for scripts that learn a worker id only inside. */
  readonly workerPrefix: string;
  worker(workerId: string): string;
  lease(workerId: string): string;
  workers(): string;
  workersOfType(type: string): string;
  byStatus(status: JobStatus): string;
  all(): string;
  seq(): string;
  types(): string;
  events(): string;
  delayed(): string;
  /** Zset: queued job id → the deadline (ms) of its queued TTL; read by expire-queued-jobs. */
  expiring(): string;
  idempotency(key: string): string;
  spawner(host: string): string;
  typeState(): string;
  /** Hash: worker type → the host whose reason its type-state field holds (a restarted host takes back its predecessor's). */
  typeStateHosts(): string;
  /** Hash: spawner host id → JSON list of the Node function names its workers have (checked by POST /jobs). */
  functions(): string;
  /** Hash: spawner host id → JSON {gpus, gpus_free, heartbeat}. */
  hosts(): string;
  /** Pub/sub channel prefix for cancel requests; the worker id is appended. */
  cancelChannel(workerId?: string): string;
  /** String written by the Redis health probe (core/redis-gate.ts), with a short TTL. */
  healthProbe(): string;
}

/** What every key of a prefix starts with: the prefix as a hash tag, then ':'. */
export const keyRoot = (prefix: string): string => `{${prefix}}:`;

export function createKeys(prefix = 'kiln'): Keys {
  const p = keyRoot(prefix);
  return {
    prefix,
    jobPrefix: `${p}job:`,
    job: (id) => `${p}job:${id}`,
    logs: (jobId) => `${p}logs:${jobId}`,
    logPrefix: `${p}logs:`,
    progressHistory: (id) => `${p}job:${id}:progress`,
    queue: (type) => `${p}queue:${type}`,
    notify: (type) => `${p}notify:${type}`,
    active: (workerId) => `${p}active:${workerId}`,
    workerModels: (workerId) => `${p}worker-models:${workerId}`,
    modelHolders: `${p}model-holders:`,
    workerNotify: (workerId) => `${p}notify-worker:${workerId}`,
    workerPrefix: `${p}worker:`,
    worker: (workerId) => `${p}worker:${workerId}`,
    lease: (workerId) => `${p}lease:${workerId}`,
    workers: () => `${p}workers`,
    workersOfType: (type) => `${p}workers:${type}`,
    byStatus: (status) => `${p}jobs:${status}`,
    all: () => `${p}jobs`,
    seq: () => `${p}seq`,
    types: () => `${p}types`,
    events: () => `${p}events`,
    delayed: () => `${p}delayed`,
    expiring: () => `${p}expiring`,
    idempotency: (key) => `${p}idem:${key}`,
    spawner: (host) => `${p}spawner:${host}`,
    typeState: () => `${p}type-state`,
    typeStateHosts: () => `${p}type-state-hosts`,
    functions: () => `${p}functions`,
    hosts: () => `${p}hosts`,
    cancelChannel: (workerId = '') => `${p}cancel:${workerId}`,
    healthProbe: () => `${p}health-probe`,
  };
}
