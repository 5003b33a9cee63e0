/**
 * An idle worker's wait for work with its claim riding behind it: one pipeline on the
 * blocking connection, `BLPOP <notify> <timeout>` then the claim script. Redis runs a
 * blocked client's next command as soon as the BLPOP returns, so a job submitted to an
 * idle worker is claimed in the same round trip that wakes the worker (BLPOP, then a
 * claim of its own, took two: the wake-up's reply, then the claim's).
 *
 * The claim is sent before the moment it runs is known, so it runs on Redis's clock
 * (claim-job.lua with `now` ''). It runs whenever the wait ends — a wake-up, the
 * timeout, or `interrupt()` (a drain): whatever it claims comes back and is run, so no
 * claimed job is ever left behind. `interrupt()` uses CLIENT UNBLOCK (the wait ends as on
 * its timeout); where Redis refuses that command, the wait ends on its own timeout.
 */
import type { Redis } from 'ioredis';
import type { ClaimedJobs, JobStore } from '../core/job-store';

export interface WakeClaimDeps {
  blocking: Redis;
  /** Any other connection (CLIENT UNBLOCK is sent on it). */
  redis: Redis;
  store: Pick<JobStore, 'claimCall' | 'parseClaimed'>;
  type: string;
  workerId: string;
  /** The type's notify list, and the worker's own (affinity: a claim left it a job). */
  notifyKeys: string[];
  timeoutS: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createWakeClaim(d: WakeClaimDeps) {
  let clientId: string | undefined;
  let waiting = false;
  // a reconnected blocking connection is another client
  d.blocking.on('ready', () => {
    clientId = undefined;
  });

  return {
    /** Waits for a wake-up (at most `timeoutS`, default the deps'), then claims up to `count` jobs in the same round trip. */
    async wait(count: number, timeoutS = d.timeoutS): Promise<ClaimedJobs> {
      waiting = true;
      let replies: [Error | null, unknown][] | null;
      try {
        clientId ??= String(await d.blocking.client('ID'));
        const call = d.store.claimCall(d.type, d.workerId, '', count);
        replies = await d.blocking.pipeline().blpop(...d.notifyKeys, timeoutS).evalsha(call.script.sha, call.keys.length, ...call.keys, ...call.argv).exec();
      } finally {
        waiting = false;
      }
      const [wake, claim] = replies ?? [];
      if (wake?.[0]) throw wake[0];
      if (!claim) return [];
      if (claim[0]) {
        // a Redis that lost its scripts (restarted): the worker's next claim loads it again
        if (claim[0].message.startsWith('NOSCRIPT')) return [];
        throw claim[0];
      }
      return d.store.parseClaimed(claim[1]);
    },

    /**
     * Ends a wait in progress (its claim runs now). Resolves true once it is no longer
     * blocked, false when it cannot be ended early (CLIENT UNBLOCK refused).
     */
    async interrupt(): Promise<boolean> {
      for (let i = 0; waiting && i < 200; i++) {
        try {
          // 0: not blocked (yet, or any more): the pipeline may still be on its way
          if (clientId !== undefined && Number(await d.redis.client('UNBLOCK', clientId)) === 1) return true;
        } catch {
          return false;
        }
        await sleep(5);
      }
      return !waiting;
    },
  };
}

export type WakeClaim = ReturnType<typeof createWakeClaim>;
