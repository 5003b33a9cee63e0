import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs build script, no declarations
import { checkBody, parseHeader } from '../../scripts/lua-header.mjs';

type Header = { keys: { name: string }[]; argv: { name: string }[]; rest: { name: string } | null; derived: { prefix: string }[] };
const parse = (src: string): { header: Header; body: string } => parseHeader('demo', src);
const check = (src: string) => {
  const { header, body } = parse(src);
  checkBody('demo', header, body);
  return header;
};
const ok = `--[[ demo: a demo.
KEYS:
  job         the job hash
              (continued)
ARGV:
  job_prefix  job key prefix
  ...points   the rest
DERIVED:
  job_prefix .. <id>   other jobs
Returns: 1.
]]
redis.call('HSET', KEYS[1], 'a', ARGV[1])
for i = 2, #ARGV do redis.call('HGET', ARGV[1] .. ARGV[i], 'x') end
return 1
`;

describe('gen-lua: script headers', () => {
  it('reads names in KEYS/ARGV order, a variadic tail and derived keys', () => {
    const h = check(ok);
    expect(h.keys.map((k) => k.name)).toEqual(['job']);
    expect(h.argv.map((a) => a.name)).toEqual(['job_prefix']);
    expect(h.rest?.name).toBe('points');
    expect(h.derived.map((d) => d.prefix)).toEqual(['job_prefix']);
  });

  it.each([
    ['no header', 'return KEYS[1]\n', /missing header/],
    ['another name', ok.replace('demo: a demo', 'other: x'), /names the script "other"/],
    ['a key the header lacks', ok.replace("'a', ARGV[1])", "'a', ARGV[1], KEYS[2])"), /declares 1 KEYS, the body uses up to KEYS\[2\]/],
    ['an ARGV the body never uses', ok.replace('  ...points', '  extra       more\n  ...points'), /declares 2 ARGV .* up to ARGV\[1\]/],
    ['a computed KEYS index', ok.replace("'a', ARGV[1])", "'a', KEYS[#KEYS])"), /indexes KEYS with an expression/],
    ['a computed ARGV index without a tail', ok.replace('  ...points   the rest\n', ''), /declare a variadic tail/],
    ['a derived prefix that is no ARGV', ok.replace('  job_prefix .. <id>', '  queue_prefix .. <t>'), /queue_prefix is not an ARGV entry/],
    ['a malformed entry', ok.replace('  job         the job hash', 'job the job hash'), /KEYS entry "job the job hash"/],
    ['no Returns', ok.replace('Returns: 1.\n', ''), /no Returns: section/],
  ])('fails the build on %s', (_, src, message) => {
    expect(() => check(src)).toThrow(message);
  });
});
