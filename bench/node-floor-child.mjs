// The floor of a Node cold start (bench/cold-runs.ts): a forked Node child that loads
// ioredis, connects and PINGs, then says so over IPC and exits. argv: redis port.
import { Redis } from 'ioredis';

const redis = new Redis({ host: '127.0.0.1', port: Number(process.argv[2]), maxRetriesPerRequest: 1 });
await redis.ping();
process.send?.('ready', () => {
  redis.disconnect();
  process.exit(0);
});
