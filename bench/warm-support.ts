/**
 * Helpers of the warm-dispatch bench: the handler-entry clock (handlers report
 * process.hrtime.bigint() over UDP, a system-wide clock on Linux) and the worker
 * processes of both systems.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import type { System } from '../tests/helpers/system';
import { firstMessage, stopProcess as stopChild, until } from './processes';

export { until };

const BULL_WORKER = join(import.meta.dirname, 'bullmq-worker.mjs');
/** Where handlers report their entry time: `entryOf(tag)` resolves with it. */
export async function createEntryClock() {
  const udp = createSocket('udp4');
  const arrived = new Map<string, bigint>();
  const waiting = new Map<string, (t: bigint) => void>();
  udp.on('message', (buf) => {
    const [tag, ns] = buf.toString().split(' ');
    if (!tag || !ns) return;
    const w = waiting.get(tag);
    if (w) {
      waiting.delete(tag);
      w(BigInt(ns));
    } else arrived.set(tag, BigInt(ns));
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const udpPort = udp.address().port;

  function entryOf(tag: string, timeoutMs = 10_000): Promise<bigint> {
    const got = arrived.get(tag);
    if (got !== undefined) {
      arrived.delete(tag);
      return Promise.resolve(got);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        waiting.delete(tag);
        reject(new Error(`no handler entry for ${tag} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(tag, (v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }

  return { port: udpPort, entryOf, close: () => udp.close() };
}

export const bullWorkers = new Set<ChildProcess>();

export async function forkBullWorker(port: number, queue: string, concurrency: number): Promise<ChildProcess> {
  const child = fork(BULL_WORKER, [String(port), queue, String(concurrency)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  bullWorkers.add(child);
  await firstMessage(child, 'BullMQ worker').catch(async (e: unknown) => {
    await stopProcess(child);
    throw e;
  });
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  bullWorkers.delete(child);
  await stopChild(child);
}

export async function kilnWorker(sys: System, type: string): Promise<void> {
  await sys.spawner.ensure(type);
  await until(`a ready ${type} worker`, async () => [...sys.spawner.supervisor.workers.values()].some((w) => w.type === type && w.state === 'idle'), 15_000, 25);
}

export async function stopKilnWorkers(sys: System, type: string): Promise<void> {
  const ws = [...sys.spawner.supervisor.workers.values()].filter((w) => w.type === type);
  await Promise.all(ws.map((w) => sys.spawner.supervisor.stop(w, { graceMs: 2000, reason: { kind: 'stopped', by: 'bench' } })));
}

