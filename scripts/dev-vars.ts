/**
 * Keeps named lines of wrangler's `.dev.vars` (KEY=value, dotenv syntax) equal to
 * given values: creates the file (0600) when absent, rewrites only those keys
 * when present, and leaves every other line as it was. It holds tokens, so it is
 * left 0600 in every case (a wider file is tightened, even when no line changed).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export type DevVarsChange = 'created' | 'updated' | 'unchanged';

const HEADER = '# Written by `npm run dev:edge` from the REST gateway and spawner tokens; see .dev.vars.example.\n';

export function syncDevVars(path: string, values: Record<string, string>): DevVarsChange {
  if (!existsSync(path)) {
    writeFileSync(path, HEADER + Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
    chmodSync(path, 0o600);
    return 'created';
  }
  const before = readFileSync(path, 'utf8');
  const seen = new Set<string>();
  const lines = before.split('\n').map((line) => {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=/.exec(line);
    const key = m?.[1];
    if (key === undefined || !(key in values)) return line;
    seen.add(key);
    return `${key}=${values[key]}`;
  });
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const [k, v] of Object.entries(values)) if (!seen.has(k)) lines.push(`${k}=${v}`);
  const after = `${lines.join('\n')}\n`;
  if (after !== before) writeFileSync(path, after, { mode: 0o600 });
  chmodSync(path, 0o600);
  return after === before ? 'unchanged' : 'updated';
}
