/**
 * Lookups keyed by input (worker types, model types, functions, hash fields read
 * back from Redis) read own properties only: `constructor`, `toString` or
 * `__proto__` must never resolve to something inherited from Object.prototype.
 */

/** `obj[key]` when `key` is the object's own property, else undefined. */
export function ownValue<T>(obj: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Names of Object.prototype's properties (`__proto__`, `constructor`, `toString`, …): never a valid lookup key. */
export function isPrototypeName(name: string): boolean {
  return name in Object.prototype;
}
