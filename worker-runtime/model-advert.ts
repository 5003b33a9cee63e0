/**
 * A Python worker's advertised models (affinity): the training job ids its runner's model
 * cache keeps, written to Redis (set-worker-models.lua) whenever the runner reports a change.
 * The write is sent at once, on the store's connection, so it reaches Redis before the result
 * of the job that loaded the model (the runner reports its cache before the job's outcome).
 */
import type { JobStore } from '../core/job-store';

export function createModelAdvert(store: Pick<JobStore, 'setWorkerModels'>, workerId: string, log: (level: 'warn', message: string) => void) {
  let last = '';
  return (models: readonly string[]): void => {
    const key = JSON.stringify(models);
    if (key === last) return;
    last = key;
    store.setWorkerModels(workerId, models).catch((err: unknown) => {
      last = ''; // the next report writes it again
      log('warn', `could not advertise the loaded models: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
}
