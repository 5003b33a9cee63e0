/** "ok", or "error: <why>" when a Redis PING fails: the redis field of both health endpoints. */
export async function redisHealth(ping: () => Promise<unknown>): Promise<string> {
  try {
    await ping();
    return 'ok';
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}
