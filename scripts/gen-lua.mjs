// Turns core/lua/*.lua into core/lua/scripts.ts (the LuaScript objects: name, sha, source)
// and core/lua/contracts.ts (one typed wrapper per script, taking named keys and named
// arguments), so no runtime (workerd has no disk) reads a file to load a script.
// `--@include name` lines pull in core/lua/name.lua. Files whose name starts with "_"
// are fragments, not scripts.
//
// Every script opens with a header the generator reads (order = KEYS[i] / ARGV[i]):
//   --[[ name: one-line description.
//   KEYS:
//     job         the job hash
//   ARGV:
//     job_id      job id
//     ...points   variadic tail (last ARGV entry only): ARGV[n..]
//   DERIVED:
//     job_prefix .. <id>   keys the script builds from an ARGV prefix (must name an ARGV entry)
//   Returns: ...
//   ]]
// The build fails when a header is missing or malformed, or when the number of KEYS/ARGV
// names disagrees with the highest KEYS[n]/ARGV[n] the expanded body uses.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'core', 'lua');
const expand = (name, seen = new Set()) => {
  if (seen.has(name)) throw new Error(`include cycle at ${name}`);
  seen.add(name);
  return readFileSync(join(dir, `${name}.lua`), 'utf8').replace(/^--@include (\S+)$/gm, (_, inc) =>
    expand(inc, new Set(seen)),
  );
};
const camel = (s) => s.replace(/[-_](\w)/g, (_, c) => c.toUpperCase());
const pascal = (s) => camel(s).replace(/^\w/, (c) => c.toUpperCase());

class HeaderError extends Error {}

/** Parses a script's header; throws HeaderError saying what is wrong. */
export function parseHeader(name, source) {
  const fail = (msg) => {
    throw new HeaderError(`core/lua/${name}.lua: ${msg}`);
  };
  const m = /^--\[\[ ([a-z0-9-]+): ([^\n]*)\n([\s\S]*?)\n\]\]\n/.exec(source);
  if (!m) fail("missing header: the file must open with '--[[ <name>: <description>' and close it with a line ']]'");
  if (m[1] !== name) fail(`header names the script "${m[1]}", the file is ${name}.lua`);
  const header = { name, description: m[2], keys: [], argv: [], rest: null, derived: [], returns: '' };
  let section = null;
  let last = null;
  const seen = new Set();
  for (const line of m[3].split('\n')) {
    const head = /^(KEYS|ARGV|DERIVED|Returns):(.*)$/.exec(line);
    if (head) {
      section = head[1];
      if (seen.has(section)) fail(`section ${section}: appears twice`);
      seen.add(section);
      const rest = head[2].trim();
      if (section === 'Returns') header.returns = rest;
      else if (rest && rest !== 'none') fail(`section ${section}: entries go on their own lines, two spaces in`);
      last = null;
      continue;
    }
    if (section === null || section === 'Returns') {
      if (section === 'Returns') header.returns += `\n${line}`;
      else header.description += `\n${line}`;
      continue;
    }
    if (/^ {3,}\S/.test(line) && last) {
      last.doc += ` ${line.trim()}`;
      continue;
    }
    if (section === 'DERIVED') {
      const d = /^ {2}([a-z][a-z0-9_]*) \.\. (\S+)\s+(.*)$/.exec(line);
      if (!d) fail(`DERIVED entry "${line}": write '  <argv name> .. <what is appended>  <description>'`);
      last = { prefix: d[1], suffix: d[2], doc: d[3] };
      header.derived.push(last);
      continue;
    }
    const e = /^ {2}(\.\.\.)?([a-z][a-z0-9_]*)\s+(\S.*)$/.exec(line);
    if (!e) fail(`${section} entry "${line}": write '  <snake_case name>  <description>'`);
    last = { name: e[2], doc: e[3] };
    if (header.rest) fail(`${section}: "...${header.rest.name}" must be the last ARGV entry`);
    if (e[1]) {
      if (section !== 'ARGV') fail(`KEYS: "...${e[2]}": only ARGV may end with a variadic tail`);
      header.rest = last;
    } else (section === 'KEYS' ? header.keys : header.argv).push(last);
  }
  for (const s of ['KEYS', 'ARGV', 'Returns']) if (!seen.has(s)) fail(`header has no ${s}: section`);
  const names = [...header.keys, ...header.argv, ...(header.rest ? [header.rest] : [])].map((x) => x.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(`name "${dup}" is declared twice`);
  for (const d of header.derived) {
    if (!header.argv.some((a) => a.name === d.prefix)) fail(`DERIVED "${d.prefix} .. ${d.suffix}": ${d.prefix} is not an ARGV entry`);
  }
  return { header, body: source.slice(m[0].length) };
}

/** Checks the declared KEYS/ARGV against what the expanded body uses. */
export function checkBody(name, header, body) {
  const fail = (msg) => {
    throw new HeaderError(`core/lua/${name}.lua: ${msg}`);
  };
  const code = body.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
  const highest = (v) => Math.max(0, ...[...code.matchAll(new RegExp(`\\b${v}\\[(\\d+)\\]`, 'g'))].map((x) => Number(x[1])));
  if (/\bKEYS\[(?!\d+\])/.test(code)) fail('the body indexes KEYS with an expression; every key must be a declared KEYS[n]');
  if (!header.rest && /\bARGV\[(?!\d+\])|#ARGV/.test(code)) fail('the body indexes ARGV with an expression; declare a variadic tail ("...name") last in ARGV');
  const k = highest('KEYS');
  if (k !== header.keys.length) fail(`the header declares ${header.keys.length} KEYS, the body uses up to KEYS[${k}]`);
  const a = highest('ARGV');
  if (a !== header.argv.length) fail(`the header declares ${header.argv.length} ARGV (before any variadic tail), the body uses up to ARGV[${a}]`);
}

const doc = (s, indent) => s.split('\n').map((l) => `${indent} * ${l.replace(/\*\//g, '*\\/')}`.trimEnd()).join('\n');

function wrapper(header) {
  const fn = camel(header.name);
  const type = pascal(header.name);
  let jsdoc = `/**\n${doc(`${header.name}: ${header.description}`, '')}\n *\n${doc(`Returns: ${header.returns}`, '')}\n`;
  for (const d of header.derived) jsdoc += `${doc(`Derived keys: ${d.prefix} .. ${d.suffix}: ${d.doc}`, '')}\n`;
  jsdoc += ' */\n';
  let out = `export interface ${type}Keys {\n${header.keys.map((k) => `  /** ${k.doc} */\n  ${k.name}: string;\n`).join('')}}\n`;
  const args = [...header.argv.map((a) => `  /** ${a.doc} */\n  ${a.name}: RedisArg;\n`)];
  if (header.rest) args.push(`  /** ${header.rest.doc} */\n  ${header.rest.name}: readonly RedisArg[];\n`);
  out += args.length ? `export interface ${type}Args {\n${args.join('')}}\n` : `export type ${type}Args = Record<string, never>;\n`;
  const keyList = header.keys.map((k) => `keys.${k.name}`).join(', ');
  const argList = [...header.argv.map((a) => `args.${a.name}`), ...(header.rest ? [`...args.${header.rest.name}`] : [])].join(', ');
  out += `${jsdoc}export function ${fn}(redis: RedisPort, keys: ${type}Keys, args: ${type}Args): Promise<unknown> {\n`;
  out += `  return runKilnScript(redis, lua.${fn}, [${keyList}], [${argList}], args);\n}\n\n`;
  return out;
}

const names = readdirSync(dir)
  .filter((f) => f.endsWith('.lua') && !f.startsWith('_'))
  .map((f) => f.slice(0, -4))
  .sort();
let scripts = '// Generated by scripts/gen-lua.mjs from core/lua/*.lua. Do not edit.\n';
scripts += "import type { LuaScript } from '../redis-port';\n\n";
let contracts = '// Generated by scripts/gen-lua.mjs from the headers of core/lua/*.lua. Do not edit.\n';
contracts += '// One typed wrapper per script: named keys and arguments, in the order of its header.\n';
contracts += "import type { RedisArg, RedisPort } from '../redis-port';\n";
contracts += "import { runKilnScript } from '../script-errors';\n";
contracts += "import * as lua from './scripts';\n\n";
const problems = [];
for (const name of names) {
  const source = expand(name);
  try {
    const { header, body } = parseHeader(name, source);
    checkBody(name, header, body);
    contracts += wrapper(header);
  } catch (err) {
    if (!(err instanceof HeaderError)) throw err;
    problems.push(err.message);
  }
  const sha = createHash('sha1').update(source).digest('hex');
  scripts += `export const ${camel(name)}: LuaScript = {\n  name: ${JSON.stringify(name)},\n  sha: ${JSON.stringify(sha)},\n  source: ${JSON.stringify(source)},\n};\n\n`;
}
if (problems.length) {
  console.error(`gen-lua: ${problems.length} script header(s) to fix (see scripts/gen-lua.mjs for the format):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
let stale = false;
for (const [file, text] of [['scripts.ts', scripts], ['contracts.ts', contracts.replace(/\n\n$/, '\n')]]) {
  const target = join(dir, file);
  const before = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (before !== text) {
    writeFileSync(target, text);
    stale = true;
  }
}
if (process.argv.includes('--check') && stale) {
  console.error('core/lua/scripts.ts or core/lua/contracts.ts was out of date; regenerated');
  process.exit(1);
}
