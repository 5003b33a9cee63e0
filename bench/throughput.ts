/**
 * Closed-loop throughput: submit n jobs, `inFlight` at a time, and time from the
 * first submit until `completed()` has grown by n. Bounded by `timeoutMs`.
 */
import { until } from './processes';

const hr = () => process.hrtime.bigint();
const msSince = (t0: bigint) => Number(hr() - t0) / 1e6;

export interface ThroughputResult {
  ms: number;
  /** jobs completed per second */
  rate: number;
  /** submits per second, while submitting */
  submitRate: number;
}

/** `inFlight` concurrent loops calling submit() until n submits have started. */
export function submitPool(n: number, inFlight: number, submit: () => Promise<void>): () => Promise<void> {
  return async () => {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) {
        next++;
        await submit();
      }
    }));
  };
}

export async function measureThroughput(n: number, submitAll: () => Promise<void>, completed: () => Promise<number>, timeoutMs = 60_000): Promise<ThroughputResult> {
  const base = await completed();
  const t0 = hr();
  let submittedMs = 0;
  let failure: unknown;
  const submitting = submitAll().then(() => {
    submittedMs = msSince(t0);
  });
  submitting.catch((e: unknown) => (failure = e));
  await until('all jobs completed', async () => {
    if (failure) throw failure;
    return (await completed()) - base >= n;
  }, timeoutMs, 5);
  await submitting;
  const ms = msSince(t0);
  return { ms, rate: (n / ms) * 1000, submitRate: (n / submittedMs) * 1000 };
}
