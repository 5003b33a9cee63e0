/**
 * Valid-ish values from the JSON Schemas of GET /openapi.json: a route's documented
 * request body, query and header parameters become generators, so a new route or
 * field is fuzzed without touching the fuzz. Covers the subset zod's OpenAPI output
 * uses ($ref, anyOf/oneOf, enum, const, type lists, objects, arrays, bounds, patterns).
 */
import fc from 'fast-check';
import { anyJson, fromValue, type JsonTree, obj, raw, str } from './json-tree';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

export interface SchemaArbOptions {
  /** `#/components/schemas` of the document. */
  components: Record<string, JsonSchema>;
  /** Values worth trying for a string property of this name (e.g. known model types), besides generated ones. */
  hints?: Record<string, readonly string[]>;
  /** Values for a field of any type (`{}`, e.g. a job's input); default: small JSON. */
  anyValue?: fc.Arbitrary<JsonTree>;
}

const MAX_DEPTH = 6;

export function schemaArb(schema: JsonSchema, opts: SchemaArbOptions, name = '', depth = 0): fc.Arbitrary<JsonTree> {
  if (depth > MAX_DEPTH) return anyJson;
  if (schema.$ref) {
    const target = opts.components[schema.$ref.replace('#/components/schemas/', '')];
    return target ? schemaArb(target, opts, name, depth + 1) : anyJson;
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => schemaArb(s, opts, name, depth + 1)));
  if (schema.allOf?.[0]) return schemaArb(schema.allOf[0], opts, name, depth + 1);
  if (schema.const !== undefined) return fc.constant(fromValue(schema.const));
  if (schema.enum?.length) return fc.constantFrom(...schema.enum).map(fromValue);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => schemaArb({ ...schema, type }, opts, name, depth)));
  switch (types[0]) {
    case 'object':
      return objectArb(schema, opts, depth);
    case 'array':
      return fc
        .array(schemaArb(schema.items ?? {}, opts, name, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) })
        .map((items): JsonTree => ({ t: 'arr', items }));
    case 'string':
      return stringArb(schema, opts.hints?.[name] ?? []).map(str);
    case 'integer':
      return fc.integer({ min: Math.ceil(schema.minimum ?? schema.exclusiveMinimum ?? -1e6), max: Math.floor(schema.maximum ?? schema.exclusiveMaximum ?? 1e6) }).map((n) => raw(String(n)));
    case 'number':
      return numberArb(schema).map((n) => raw(JSON.stringify(n)));
    case 'boolean':
      return fc.boolean().map((b) => raw(String(b)));
    case 'null':
      return fc.constant(raw('null'));
    default:
      return opts.anyValue ?? anyJson;
  }
}

function objectArb(schema: JsonSchema, opts: SchemaArbOptions, depth: number): fc.Arbitrary<JsonTree> {
  const props = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const fields = props.map(([k, s]) => {
    const value = schemaArb(s, opts, k, depth + 1);
    return (required.has(k) ? value : fc.option(value, { freq: 2 })).map((v) => (v === null ? null : ([k, v] as [string, JsonTree])));
  });
  const extra = schema.additionalProperties === false || (props.length > 0 && schema.additionalProperties === undefined)
    ? fc.constant([] as [string, JsonTree][])
    : fc.array(fc.tuple(fc.string({ maxLength: 12 }), anyJson), { maxLength: 3 });
  return fc.tuple(fc.tuple(...fields), extra).map(([fs, more]) => obj([...fs.filter((f): f is [string, JsonTree] => f !== null), ...more]));
}

function stringArb(schema: JsonSchema, hints: readonly string[]): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 40, 40));
  let generated: fc.Arbitrary<string>;
  if (schema.pattern) {
    const re = new RegExp(schema.pattern);
    generated = fc.stringMatching(re).filter((s) => s.length <= (schema.maxLength ?? Infinity));
  } else {
    generated = fc.string({ minLength, maxLength, unit: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })) });
  }
  return hints.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...hints) }, { weight: 1, arbitrary: generated }) : generated;
}

function numberArb(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
  const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
  return fc.double({
    min, max, noNaN: true, noDefaultInfinity: true,
    minExcluded: schema.minimum === undefined && schema.exclusiveMinimum !== undefined,
    maxExcluded: schema.maximum === undefined && schema.exclusiveMaximum !== undefined,
  });
}
