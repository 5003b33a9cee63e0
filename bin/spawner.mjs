#!/usr/bin/env node
// The spawner CLI; `npm run build` (run by `npm start` and `npm test`) makes dist/cli.mjs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('spawner: dist/cli.mjs is missing; run "npm run build" first\n');
  process.exit(1);
}
await import(cli);
