/** `node dist/api.mjs`: the API alone, until SIGINT/SIGTERM. */
import { startApiServer } from './node';

const server = startApiServer();
server.listening.then(
  () => process.stdout.write(`kiln api on ${server.url}\n`),
  (err: unknown) => {
    process.stderr.write(`kiln api: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void server.close().then(() => process.exit(0)));
