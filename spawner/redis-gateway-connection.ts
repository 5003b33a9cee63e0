/**
 * The REST gateway's connection to Redis: one ioredis connection (RESP2) shared by
 * every request, commands sent raw (no reply transformers, so `hgetall` stays the
 * flat array Upstash answers), and a timeout on each request's commands.
 *
 * A command with no reply within `timeoutMs` is answered with GatewayTimeout. When
 * its connection is up (a late reply, not an outage), that connection is retired so
 * that it does not hold the requests after it: new commands go to a fresh
 * connection, the old one is closed once it has answered what it holds (QUIT), and
 * dropped after a grace if it never does. A timed-out command may still run.
 */
import { type ChainableCommander, Command, type Redis } from 'ioredis';
import type { LogFn } from '../core/logger';
import type { GatewayCommand } from './redis-gateway-allow-list';

export class GatewayTimeout extends Error {}

/** One reply per command, in order: an error or a value. */
export type BatchRows = [Error | null, unknown][];

export interface GatewayConnectionOptions {
  /** Opens a new connection, created with `protocol: 2`; the gateway owns and closes it. */
  connect: () => Redis;
  timeoutMs: number;
  log: LogFn;
}

export interface GatewayConnection {
  send(cmd: GatewayCommand): Promise<unknown>;
  pipeline(cmds: GatewayCommand[]): Promise<BatchRows>;
  /** MULTI, the commands and EXEC in one write: nothing from other requests lands inside. */
  multi(cmds: GatewayCommand[]): Promise<BatchRows>;
  close(): void;
}

/** A command whose reply skips ioredis's reply transformers (hgetall → object …). */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

/** What ioredis's pipeline and multi objects are at run time; their declared type omits sendCommand. */
interface RawBatch {
  sendCommand(command: Command): unknown;
  exec(): Promise<BatchRows | null>;
}
const rawBatch = (c: ChainableCommander): RawBatch => c as unknown as RawBatch;

const raw = (cmd: GatewayCommand) => new RawCommand(cmd.name, cmd.args);

const describeCommands = (cmds: GatewayCommand[]): string =>
  cmds.length === 1 ? `command '${cmds[0]!.name}'` : `${cmds.length} commands (${[...new Set(cmds.map((c) => c.name))].join(', ')})`;

export function createGatewayConnection(opts: GatewayConnectionOptions): GatewayConnection {
  const { timeoutMs, log } = opts;
  if (!(timeoutMs > 0)) throw new Error('createGatewayConnection: timeoutMs must be above 0');
  const retireGraceMs = Math.max(10 * timeoutMs, 5000);
  const retired = new Map<Redis, NodeJS.Timeout>();

  function open(): Redis {
    const redis = opts.connect();
    if (redis.options.protocol !== 2) {
      redis.disconnect();
      throw new Error('the REST gateway needs ioredis connections created with { protocol: 2 }; RESP3 replies do not map onto the Upstash protocol');
    }
    redis.on('error', (err: Error) => log('warn', 'redis (gateway)', { error: err.message }));
    return redis;
  }

  let current = open();

  function retire(conn: Redis, what: string): void {
    if (conn !== current || conn.status !== 'ready') return;
    current = open();
    log('warn', `REST gateway: ${what} got no reply within ${timeoutMs} ms; later commands use a new Redis connection`);
    const drop = setTimeout(() => conn.disconnect(), retireGraceMs);
    drop.unref();
    retired.set(conn, drop);
    conn
      .quit()
      .catch((err: unknown) => log('debug', 'REST gateway: a retired connection closed before QUIT', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        clearTimeout(drop);
        retired.delete(conn);
      });
  }

  async function timed<T>(cmds: GatewayCommand[], run: (conn: Redis) => Promise<T>): Promise<T> {
    const conn = current;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GatewayTimeout(`${describeCommands(cmds)} got no reply from Redis within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([run(conn), late]);
    } catch (err) {
      if (err instanceof GatewayTimeout) retire(conn, describeCommands(cmds));
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async function batch(conn: Redis, kind: 'pipeline' | 'multi', cmds: GatewayCommand[]): Promise<BatchRows> {
    const b = rawBatch(kind === 'multi' ? conn.multi() : conn.pipeline());
    for (const cmd of cmds) b.sendCommand(raw(cmd));
    return (await b.exec()) ?? [];
  }

  return {
    send: (cmd) =>
      timed([cmd], (conn) => {
        const command = raw(cmd);
        conn.sendCommand(command);
        return command.promise;
      }),
    pipeline: (cmds) => timed(cmds, (conn) => batch(conn, 'pipeline', cmds)),
    multi: (cmds) => timed(cmds, (conn) => batch(conn, 'multi', cmds)),
    close() {
      for (const [conn, drop] of retired) {
        clearTimeout(drop);
        conn.disconnect();
      }
      retired.clear();
      current.disconnect();
    },
  };
}
