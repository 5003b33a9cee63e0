/**
 * The API contract suite inside workerd: requests go to api/workerd.ts's
 * `export default { fetch }`, which reaches Redis through the REST gateway that
 * tests/helpers/edge-global-setup.ts serves (as under wrangler dev). The gateway
 * serves an allow-list of commands: the suite passing through it, and the last
 * test here, keep that list equal to what the API uses.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { defineContractSuite } from '../contract/suite';

defineContractSuite('workerd', () => ({
  async request(method, path, body, headers = {}) {
    const res = await exports.default.fetch(
      new Request(`http://localhost${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    );
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  },
}));

describe('the REST gateway allow-list (spawner/redis-gateway-allow-list.ts)', () => {
  const backend = (env as { WORKER_MANAGER_URL: string }).WORKER_MANAGER_URL;
  const api = (path: string) => exports.default.fetch(new Request(`http://localhost${path}`));

  it('is exactly what the API sent through it: every command and script used, none missing', async () => {
    // With an empty script cache the next script call goes EVALSHA → NOSCRIPT → EVAL,
    // which the gateway serves only for a script it knows.
    expect((await fetch(`${backend}/test/script-flush`, { method: 'POST' })).status).toBe(200);
    const logs = await api('/jobs/contract-logs-done/logs');
    expect(logs.status).toBe(200);
    const res = await fetch(`${backend}/test/gateway-commands`);
    const { used, allowed } = (await res.json()) as { used: Record<'commands' | 'scripts', string[]>; allowed: Record<'commands' | 'scripts', string[]> };
    // PING: keyless and harmless; kept for operators' health checks of the gateway, though the API now probes with a write
    expect([...new Set([...used.commands, 'ping'])].sort()).toEqual(allowed.commands);
    // events-tail runs only for a live job with more than 1,000 newer events (tests/security-bounds.test.ts covers it)
    expect([...new Set([...used.scripts, 'events-tail'])].sort()).toEqual(allowed.scripts);
  });
});
