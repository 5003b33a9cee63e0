/**
 * GET /workers/status, built once for the API (Node and workerd) and the spawner:
 * every worker record, the per-type reasons the spawners published, and per
 * registered type its queue, running and delayed jobs, workers by state, capacity,
 * and why its work waits. Read-only, through the RedisPort.
 */
import type { JobStore } from './job-store';
import { ownValue } from './own-keys';
import type { RedisPort } from './redis-port';
import { type WorkersStatus, workersStatusView } from './schemas/worker';
import { parseWorkers } from './worker-store';

export interface TypeCapacity {
  /** Per host, from the worker type registry (null: the registry does not say). */
  max_workers: number | null;
  max_jobs: number | null;
  /** Jobs that can run at once: max_workers × max_jobs × hosts. */
  slots: number | null;
  /** Spawners that serve the type and reported in the last 60 s. */
  hosts: number;
}

export interface TypeStatus {
  queued: number;
  delayed: number;
  running: number;
  workers: Record<string, number>;
  capacity: TypeCapacity;
  /** Idle workers each host keeps beyond demand while the type is active (null: the registry does not say). */
  spare_workers: number | null;
  /** Idle ready workers now, up to spare_workers per serving host: what a burst gets without a cold start. */
  spare_ready: number;
  waiting_reason: string | null;
  warning: string | null;
}

export interface FullWorkersStatus extends WorkersStatus {
  type_state: Record<string, string>;
  types: Record<string, TypeStatus>;
}

const HOST_FRESH_MS = 60_000;

function parseJson(s: string | undefined): Record<string, unknown> {
  try {
    const v = s ? (JSON.parse(s) as unknown) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A record's own entry: a worker type named like an Object.prototype member (`constructor`) is just a name. */
const own = <T>(r: Record<string, T>, key: string): T | undefined => (Object.hasOwn(r, key) ? r[key] : undefined);

const count = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);

const positive = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);

/** Live spawner hosts per worker type (hosts that list their types and beat in the last minute). */
function hostsPerType(hosts: Record<string, string>, now: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const json of Object.values(hosts)) {
    const h = parseJson(json);
    if (typeof h.heartbeat !== 'number' || h.heartbeat < now - HOST_FRESH_MS || !Array.isArray(h.types)) continue;
    for (const t of h.types) if (typeof t === 'string') out.set(t, (out.get(t) ?? 0) + 1);
  }
  return out;
}

/** `store`: the caller's JobStore (its keys; only its type counts are read). */
export async function readWorkersStatus(redis: RedisPort, store: Pick<JobStore, 'keys' | 'typeCounts'>, now: number): Promise<FullWorkersStatus> {
  const { keys } = store;
  const [hashes, typeState, registry, hosts, counts] = await Promise.all([
    redis.smembers(keys.workers()).then((ids) => redis.hgetallMany(ids.map((id) => keys.worker(id)))),
    redis.hgetall(keys.typeState()),
    redis.hgetall(keys.types()),
    redis.hgetall(keys.hosts()),
    store.typeCounts(),
  ]);
  const workers = parseWorkers(hashes);
  const serving = hostsPerType(hosts, now);

  // own keys only (a type may be named "constructor"); the answer is built with own properties
  const types: Record<string, TypeStatus> = {};
  for (const name of Object.keys(registry).sort()) {
    const cfg = parseJson(ownValue(registry, name));
    const maxWorkers = positive(cfg.max_workers);
    const maxJobs = positive(cfg.max_jobs);
    const hostCount = serving.get(name) ?? 0;
    const c = ownValue(counts, name) ?? { queued: 0, running: 0, delayed: 0 };
    types[name] = {
      queued: c.queued,
      delayed: c.delayed,
      running: c.running,
      workers: {},
      capacity: { max_workers: maxWorkers, max_jobs: maxJobs, slots: maxWorkers && maxJobs ? maxWorkers * maxJobs * hostCount : null, hosts: hostCount },
      spare_workers: count(cfg.spare_workers),
      spare_ready: 0,
      waiting_reason: ownValue(typeState, name) ?? null,
      warning: null,
    };
  }
  for (const w of workers) {
    const t = ownValue(types, w.worker_type);
    if (t) t.workers[w.status] = (ownValue(t.workers, w.status) ?? 0) + 1;
  }
  for (const t of Object.values(types)) t.spare_ready = Math.min(ownValue(t.workers, 'idle') ?? 0, (t.spare_workers ?? 0) * t.capacity.hosts);
  // a worker's start-up warning (version policy `warn`) is its type's warning
  for (const h of hashes) {
    const t = h.worker_type ? ownValue(types, h.worker_type) : undefined;
    if (t && !t.warning && h.warning) t.warning = h.warning;
  }
  return { ...workersStatusView(workers), type_state: typeState, types };
}
