/**
 * How deeply JSON nests, measured without recursion, so that a hostile body cannot
 * make a parser (or whatever walks the parsed value later: zod, cjson in Lua, the
 * Python runner's json module) run out of stack. Every JSON input of Kiln is held
 * to MAX_JSON_DEPTH: the API's bodies, the payloads a worker hands to a runner.
 */

/** The deepest nesting of arrays and objects Kiln accepts (the Python runner holds the same limit). */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, counted over `[` and `{` outside strings; stops
 * counting (and returns `max + 1`) as soon as it passes `max`. Malformed text is
 * measured all the same: JSON.parse reports its own errors afterwards.
 */
export function jsonTextDepth(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** The nesting depth of a parsed value (arrays and plain objects), iteratively; stops past `max`. */
export function jsonValueDepth(value: unknown, max = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const depth = d + 1;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > max) return deepest;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth]);
    }
  }
  return deepest;
}

/** What to tell a client whose JSON nests too deeply. */
export const tooDeepMessage = (what: string, max = MAX_JSON_DEPTH): string =>
  `${what} nests arrays/objects more than ${max} levels deep; flatten it (or put large structures in a file under the data root and pass its path)`;
