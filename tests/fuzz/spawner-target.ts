/**
 * How the spawner's HTTP server is fuzzed (tests/security-fuzz-spawner.test.ts and
 * `npm run fuzz`): every route its app serves — control API, worker logs, metrics,
 * and the REST gateway mounted under /redis — with the token or without, worker
 * types it has and has not, and the id of a worker that runs at the moment.
 */
import fc from 'fast-check';
import type { ErrorShape } from './check';
import { type FuzzRequest, printable } from './http-arb';
import { requestArb, routeSpecs } from './routes';
import type { Sender } from './send';

/** Stands for the id of a worker that runs when the request is sent (or a gone one). */
export const LIVE_WORKER = 'live-worker-placeholder';

export function withLiveWorker(send: Sender, liveWorker: () => string | undefined): Sender {
  return async (req) => {
    if (!req.path.includes(LIVE_WORKER)) return send(req);
    return send(printable({ ...req, path: req.path.replaceAll(LIVE_WORKER, liveWorker() ?? 'node-gone0000') }));
  };
}

/** Under /redis the gateway answers in Upstash's shape; elsewhere (and for paths it does not serve) Kiln's. */
export function spawnerErrorShapes(req: FuzzRequest): readonly ErrorShape[] {
  // as the server sees the path: dot segments resolved (`/../redis` is /redis)
  const path = new URL(`http://localhost${req.path}`).pathname;
  return path === '/redis' || path.startsWith('/redis/') ? ['gateway', 'kiln'] : ['kiln'];
}

export function spawnerStreams(req: FuzzRequest): boolean {
  return req.method === 'GET' && /^\/workers\/[^/]+\/logs\?(?:.*&)?follow=(?:true|1)(?:&|$)/.test(req.path) && !/follow=(?!true|1)/.test(req.path);
}

export interface SpawnerFuzzTarget {
  app: { routes: readonly { method: string; path: string }[] };
  token: string;
  /** Extra tokens that pass somewhere (e.g. a gateway token of its own). */
  otherTokens?: readonly string[];
  types: readonly string[];
  /** Worker ids with a record or a log file. */
  workerIds: readonly string[];
  framingWithoutBody: boolean;
  bodyOnAnyMethod?: boolean;
  maxBodyChars: number;
  maxDepth?: number;
}

export function spawnerRequestArb(t: SpawnerFuzzTarget): fc.Arbitrary<FuzzRequest> {
  const num = fc.oneof(fc.integer({ min: -10, max: 10_000 }).map(String), fc.constantFrom('1e308', '-1', 'NaN', 'Infinity', '0x10', '', '5000', '5001'));
  return requestArb({
    routes: routeSpecs(t.app),
    known: { type: [...t.types, 'no-such-type', '__proto__', 'constructor'], id: [LIVE_WORKER, ...t.workerIds] },
    // grace_ms: short or absurd; a long real grace only makes the request wait for the drain
    extraQuery: { grace_ms: fc.constantFrom('0', '10', '100', '500', '1e308', '-1', 'NaN', 'Infinity', '', '0x10', '9007199254740993'), tail: num, cursor: fc.oneof(fc.constantFrom('0:0', '1:10', 'x'), fc.string()), follow: fc.constantFrom('true', 'false', '1', '0', 'yes') },
    goodAuth: [`Bearer ${t.token}`, ...(t.otherTokens ?? []).map((o) => `Bearer ${o}`)],
    maxBodyChars: t.maxBodyChars,
    framingWithoutBody: t.framingWithoutBody,
    ...(t.bodyOnAnyMethod !== undefined && { bodyOnAnyMethod: t.bodyOnAnyMethod }),
    ...(t.maxDepth !== undefined && { maxDepth: t.maxDepth }),
  });
}
