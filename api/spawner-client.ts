/**
 * How the API asks the spawner for a worker. Plain `fetch`, so it runs on Node and
 * in workerd alike. A failure here never loses a job: the spawner's own loop
 * serves the queue anyway. The reason a submit answer carries (`ensure_error`)
 * names no URL and no error text of the network or the spawner: those go to the log.
 */
import type { Logger } from '../core/logger';

export type EnsureOutcome =
  | { ok: true; action: string; worker_id?: string | null }
  | { ok: false; reason: string };

export interface SpawnerClient {
  readonly configured: boolean;
  ensure(workerType: string): Promise<EnsureOutcome>;
  health(): Promise<'ok' | 'unreachable' | 'not configured'>;
}

const QUEUED_ANYWAY = 'the job stays queued and the spawner loop will serve it';

/** What a submit answer says for a spawner status: the status and what to do, never the spawner's own text. */
function refusal(status: number): string {
  if (status === 401) return `spawner answered 401: the API's SPAWNER_TOKEN is not the spawner's token; ${QUEUED_ANYWAY}`;
  if (status === 404) return `spawner answered 404: it does not serve this worker type; ${QUEUED_ANYWAY} if another spawner does`;
  return `spawner answered ${status}; ${QUEUED_ANYWAY}`;
}

export function createSpawnerClient(opts: { url: string | undefined; token: string | undefined; timeoutMs?: number; logger?: Pick<Logger, 'warn'> }): SpawnerClient {
  const base = opts.url?.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 1000;
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const warn = (message: string) => opts.logger?.warn(message);
  return {
    configured: Boolean(base),
    async ensure(workerType) {
      if (!base) return { ok: false, reason: 'no spawner URL configured; the spawner loop will start a worker' };
      try {
        const res = await fetch(`${base}/workers/ensure/${encodeURIComponent(workerType)}`, {
          method: 'POST',
          headers,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const body = (await res.json().catch(() => ({}))) as { action?: string; worker_id?: string | null; error?: { code?: string; message?: string } };
        if (!res.ok) {
          warn(`spawner ensure ${workerType}: ${base} answered ${res.status} ${body.error?.code ?? ''}: ${body.error?.message ?? 'no detail'}`);
          return { ok: false, reason: refusal(res.status) };
        }
        return { ok: true, action: body.action ?? 'ensured', worker_id: body.worker_id ?? null };
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        warn(`spawner ensure ${workerType}: ${base} unreachable: ${err instanceof Error ? err.message : String(err)}`);
        return { ok: false, reason: `spawner ${timedOut ? `did not answer within ${timeoutMs} ms` : 'unreachable'}; ${QUEUED_ANYWAY}` };
      }
    },
    async health() {
      if (!base) return 'not configured';
      try {
        const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(timeoutMs) });
        await res.body?.cancel();
        return res.ok ? 'ok' : 'unreachable';
      } catch {
        return 'unreachable';
      }
    },
  };
}
