#!/usr/bin/env node
// The kiln CLI; `npm run build` (run by `npm start` and `npm test`) makes dist/kiln.mjs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/kiln.mjs', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('kiln: dist/kiln.mjs is missing; run "npm run build" in the Kiln folder first\n');
  process.exit(1);
}
await import(cli);
