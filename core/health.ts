/**
 * "ok", or "error: <why>" when a Redis PING fails: the redis field of both health
 * endpoints (no token needed). `why` is a short class of the failure, never the
 * client's error text: that names addresses, URLs and server replies.
 */
export async function redisHealth(ping: () => Promise<unknown>): Promise<string> {
  try {
    await ping();
    return 'ok';
  } catch (err) {
    return `error: ${redisFailureClass(err)}`;
  }
}

/** What kind of Redis failure an error is, in words safe to show anyone. */
export function redisFailureClass(err: unknown): string {
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  if (/timeout|timed out|ETIMEDOUT/i.test(text)) return 'timed out';
  if (/NOAUTH|WRONGPASS|invalid password|unauthori[sz]ed|\b401\b/i.test(text)) return 'authentication failed';
  if (/\bOOM\b|maxmemory/i.test(text)) return 'out of memory';
  if (/LOADING|BUSY|MASTERDOWN|READONLY/.test(text)) return 'not ready';
  if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|closed|writeable|fetch failed|network|MaxRetriesPerRequest|offline queue|connect/i.test(text)) return 'unreachable';
  return 'failed';
}
