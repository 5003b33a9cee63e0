/**
 * Finding workers nobody holds any more: at start-up, this host's workers from a
 * previous spawner run; on every tick, any host's workers whose lease lapsed.
 * Their jobs go back to the queue; a leftover process of ours is killed.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { JobStore } from '../core/job-store';
import type { Keys } from '../core/keys';
import type { WorkerStore } from '../core/worker-store';
import { pidAlive, signalGroup } from './launcher';
import type { WorkerMetricsSink } from './metrics';

export interface RecoveryDeps {
  redis: Redis;
  keys: Keys;
  store: JobStore;
  /** Where the dead workers' records are dropped (this module only reads them). */
  workerStore: WorkerStore;
  hostId: string;
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Workers this spawner runs now: never touched here. */
  isMine(workerId: string): boolean;
  /** Counts the jobs of the workers found dead (kiln_jobs_total{outcome="lost"}). */
  metrics?: Pick<WorkerMetricsSink, 'jobsLost'>;
}

function isOurWorkerProcess(pid: number, workerId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--kiln-worker=${workerId}`);
  } catch {
    return false;
  }
}

export function createRecovery(deps: RecoveryDeps) {
  const { redis, keys, store, workerStore } = deps;

  async function forget(workerId: string, type: string, message: string): Promise<void> {
    // jobs first, then the record: a crash between the two leaves a record with no lease, which the next sweep forgets
    const r = await store.requeueWorker(workerId, type, { type: 'worker_lost', message, worker_id: workerId }, { now: deps.now() });
    await workerStore.forget({ id: workerId, type });
    deps.log('warn', `${message}: requeued ${r.requeued}, failed ${r.failed} job(s) of ${workerId}`);
    deps.metrics?.jobsLost(type, r.requeued + r.failed);
  }

  async function candidates(): Promise<{ id: string; hash: Record<string, string> }[]> {
    const ids = (await workerStore.liveIds()).filter((id) => !deps.isMine(id));
    const rows = await workerStore.hashes(ids);
    return ids.map((id, i) => ({ id, hash: rows[i] ?? {} }));
  }

  return {
    /** At start-up: this host's workers belong to a dead spawner. Kill leftovers, requeue their jobs. */
    async recoverHost(): Promise<number> {
      let n = 0;
      for (const { id, hash } of await candidates()) {
        if (hash.host !== deps.hostId) continue;
        const pid = Number(hash.process_id);
        if (pid > 0 && pidAlive(pid) && isOurWorkerProcess(pid, id)) signalGroup(pid, 'SIGKILL');
        await forget(id, hash.worker_type ?? '', 'worker left behind by a previous spawner run');
        n++;
      }
      return n;
    },
    /** Any host: workers whose lease lapsed (their spawner and they are gone). */
    async sweepLeases(): Promise<number> {
      const list = await candidates();
      if (list.length === 0) return 0;
      const pipe = redis.pipeline();
      for (const { id } of list) pipe.exists(keys.lease(id));
      const alive = ((await pipe.exec()) ?? []).map(([, v]) => Number(v) === 1);
      let n = 0;
      for (const [i, { id, hash }] of list.entries()) {
        if (alive[i]) continue;
        if (!hash.worker_type) {
          await workerStore.forget({ id, type: '' });
          continue;
        }
        await forget(id, hash.worker_type, 'worker lease lapsed (no heartbeat)');
        n++;
      }
      return n;
    },
  };
}
