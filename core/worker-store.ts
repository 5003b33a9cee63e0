import { type WorkerRecord, workerRecordSchema } from './schemas/worker';

/** Worker hashes read back from Redis; half-written or vanished ones are skipped. */
export function parseWorkers(hashes: Record<string, string>[]): WorkerRecord[] {
  const out: WorkerRecord[] = [];
  for (const h of hashes) {
    const r = workerRecordSchema.safeParse(h);
    if (r.success) out.push(r.data);
  }
  return out.sort((a, b) => a.created_at - b.created_at);
}
