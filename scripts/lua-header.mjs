// The header of a core/lua script (the format is described in scripts/gen-lua.mjs):
// parseHeader reads it, checkBody compares it with the KEYS[n]/ARGV[n] the expanded body uses.
// Both throw HeaderError with a message naming the file and what to fix.
export class HeaderError extends Error {}

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
