/** Closing the spawner's HTTP server without waiting on open streams (log follows, a stalled request). */
import type { ServerType } from '@hono/node-server';

/** Stops taking connections; idle ones close now, open ones after graceMs. */
export async function closeServer(server: ServerType, graceMs: number): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  const http = server as { closeIdleConnections?(): void; closeAllConnections?(): void };
  http.closeIdleConnections?.();
  const cut = setTimeout(() => http.closeAllConnections?.(), graceMs);
  await closed;
  clearTimeout(cut);
}
