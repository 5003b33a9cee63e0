/** `node dist/api.mjs`: the API alone, until SIGINT/SIGTERM. */
import { startApiServer } from './node';

const fail = (err: unknown) => {
  process.stderr.write(`kiln api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
};

let server: ReturnType<typeof startApiServer>;
try {
  server = startApiServer();
} catch (err) {
  fail(err); // bad configuration (LOG_LEVEL=verbose, …): one clear line, no stack
  throw err;
}
server.listening.then(() => server.logger.info(`kiln api on ${server.url}`, { url: server.url }), fail);
// The first signal closes (bounded: nothing waits on Redis past its timeout); a second one exits at once.
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(130);
    stopping = true;
    void server.close().then(() => process.exit(0));
  });
}
