/**
 * The API contract suite inside workerd: requests go to api/worker.ts's
 * `export default { fetch }`, which reaches Redis through the REST gateway that
 * tests/helpers/edge-global-setup.ts serves (as under wrangler dev).
 */
import { exports } from 'cloudflare:workers';
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
