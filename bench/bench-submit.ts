/**
 * `npm run bench`, HTTP submit rate: POST /jobs on the Node API server (no spawner
 * URL, so a submit is the API's own work: parsing, validation, the enqueue script,
 * the answer) against the one-EVALSHA Hono route of bench/submit-floor.ts, each
 * driven by the same closed-loop raw-socket client in its own process.
 */
import { startApiServer } from '../api/node';
import { freePort, type RedisServer } from '../tests/helpers/redis-server';
import type { LoadResult } from './http-load';
import { startLoadClient } from './http-load-client';
import type { Row } from './report';
import { startSubmitFloor } from './submit-floor';

const BODY = JSON.stringify({ function: 'echo', input: { bench: true } });

export async function submitRow(redis: RedisServer, o: { durationMs: number; connections: number; rounds: number }): Promise<Row> {
  const apiPort = await freePort();
  const floorPort = await freePort();
  const api = startApiServer({ REDIS_URL: redis.url, API_HOST: '127.0.0.1', API_PORT: String(apiPort), KILN_PREFIX: 'bench-submit', WORKER_MANAGER_URL: '', KILN_MAX_QUEUED: '0', LOG_LEVEL: 'warn' });
  const floor = await startSubmitFloor(redis.url, floorPort);
  const load = await startLoadClient();
  try {
    await api.listening;
    const rate = async (port: number, durationMs: number) => {
      const r: LoadResult = await load.run({ host: '127.0.0.1', port, method: 'POST', path: '/jobs', body: BODY, connections: o.connections, durationMs });
      const ok = r.statuses['202'] ?? 0;
      if (ok === 0 || Object.keys(r.statuses).some((s) => s !== '202') || r.errors) throw new Error(`submit load on ${port}: ${JSON.stringify(r.statuses)}, socket errors ${r.errors}`);
      return (ok * 1000) / r.elapsedMs;
    };
    const warm = Math.min(1000, o.durationMs / 2);
    await rate(apiPort, warm);
    await rate(floorPort, warm);
    const apiRates: number[] = [];
    const floorRates: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      // alternate which goes first
      if (i % 2 === 0) {
        apiRates.push(await rate(apiPort, o.durationMs));
        floorRates.push(await rate(floorPort, o.durationMs));
      } else {
        floorRates.push(await rate(floorPort, o.durationMs));
        apiRates.push(await rate(apiPort, o.durationMs));
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      measure: `HTTP submit rate, \`POST /jobs\` (${o.connections} connections, ${o.rounds} × ${o.durationMs / 1000} s; API's own work, no spawner call)`,
      figure: mean(apiRates), unit: 'submits/s', counterpart: 'Hono route, one `EVALSHA`', counterpartFigure: mean(floorRates), target: { op: '>=', ratio: 0.7 },
    };
  } finally {
    await load.stop();
    await floor.close();
    await api.close();
  }
}
