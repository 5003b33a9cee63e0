/**
 * How the API asks the spawner for a worker. Plain `fetch`, so it runs on Node and
 * in workerd alike. A failure here never loses a job: the spawner's own loop
 * serves the queue anyway.
 */
export type EnsureOutcome =
  | { ok: true; action: string; worker_id?: string | null }
  | { ok: false; reason: string };

export interface SpawnerClient {
  readonly configured: boolean;
  ensure(workerType: string): Promise<EnsureOutcome>;
  health(): Promise<'ok' | 'unreachable' | 'not configured'>;
}

export function createSpawnerClient(opts: { url: string | undefined; token: string | undefined; timeoutMs?: number }): SpawnerClient {
  const base = opts.url?.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 1000;
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
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
        const body = (await res.json().catch(() => ({}))) as { action?: string; worker_id?: string | null; error?: { message?: string } };
        if (!res.ok) return { ok: false, reason: `spawner answered ${res.status}: ${body.error?.message ?? 'no detail'}` };
        return { ok: true, action: body.action ?? 'ensured', worker_id: body.worker_id ?? null };
      } catch (err) {
        return { ok: false, reason: `spawner at ${base} unreachable (${err instanceof Error ? err.message : String(err)}); the job stays queued and the spawner loop will serve it` };
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
