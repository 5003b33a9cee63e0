// One BullMQ Worker in its own process, forked by bench/warm-dispatch.ts (as Kiln's
// worker is its own process). argv: redis port, queue name, concurrency.
// Runs the same handlers as the Kiln worker (bench/warm-functions.mjs), by job name.
import { Worker } from 'bullmq';
import * as fns from './warm-functions.mjs';

const [port, queueName, concurrency] = process.argv.slice(2);
// never outlive the bench
process.on('disconnect', () => process.exit(0));

const worker = new Worker(queueName, async (job) => fns[job.name](job.data), {
  connection: { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
worker.on('error', (err) => process.stderr.write(`bullmq worker: ${err.message}\n`));
await worker.waitUntilReady();
process.send?.({ ready: true });
process.on('SIGTERM', () => {
  void worker.close().finally(() => process.exit(0));
});
