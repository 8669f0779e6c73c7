// Parses Objective-C type encodings as they appear in typedstream group headers ("@", "iI", "[12c]", "{a=dd}").
import { TypedstreamCode, typedstreamError } from './errors.js';

/** One parsed type code. */
export type TypeCode =
  | { readonly kind: 'simple'; readonly code: string }
  | { readonly kind: 'array'; readonly count: number; readonly element: TypeCode }
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly TypeCode[] };

const SIMPLE = new Set(['@', '#', ':', '*', '+', '%', 'c', 'C', 'B', 's', 'S', 'i', 'I', 'l', 'L', 'q', 'Q', 'f', 'd']);
const MAX_NESTING = 16;

const simple = (code: string): TypeCode => ({ kind: 'simple', code });
/** The encodings Foundation writes in every body, parsed once (immutable). */
const COMMON: ReadonlyMap<string, readonly TypeCode[]> = new Map(
  ['@', '+', 'i', 'I', 'iI', '*', 'c', 'C', 'q', 'Q', 'd', 'f', 's', 'S', 'l', 'L', 'B', '#'].map((t) => [t, Object.freeze([...t].map(simple))]),
);

/**
 * Splits a type string into its type codes.
 * @throws RelayError TS_BAD_TYPE for anything not in the set typedstream writes; `offset` is where
 * the string sits in the blob. Empty structs are refused so that every value consumes input.
 */
export function parseTypeEncoding(types: string, offset: number): readonly TypeCode[] {
  const common = COMMON.get(types);
  if (common !== undefined) return common;
  const out: TypeCode[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw typedstreamError(TypedstreamCode.BadType, `bad type encoding ${JSON.stringify(types)}: ${why}`, offset);
  };
  const one = (depth: number): TypeCode => {
    if (depth > MAX_NESTING) fail('nested too deeply');
    const ch = types[pos];
    if (ch === undefined) return fail('unexpected end');
    if (ch === '[') {
      pos++;
      const start = pos;
      while (pos < types.length && types.charCodeAt(pos) >= 0x30 && types.charCodeAt(pos) <= 0x39) pos++;
      if (pos === start || pos - start > 9) fail('array without a count');
      const count = Number(types.slice(start, pos));
      const element = one(depth + 1);
      if (types[pos] !== ']') fail('unterminated array');
      pos++;
      return { kind: 'array', count, element };
    }
    if (ch === '{') {
      pos++;
      const eq = types.indexOf('=', pos);
      if (eq < 0) fail('struct without "="');
      const name = types.slice(pos, eq);
      pos = eq + 1;
      const fields: TypeCode[] = [];
      while (pos < types.length && types[pos] !== '}') fields.push(one(depth + 1));
      if (types[pos] !== '}') fail('unterminated struct');
      if (fields.length === 0) fail('empty struct');
      pos++;
      return { kind: 'struct', name, fields };
    }
    if (!SIMPLE.has(ch)) fail(`unknown code ${JSON.stringify(ch)}`);
    pos++;
    return { kind: 'simple', code: ch };
  };
  while (pos < types.length) out.push(one(0));
  if (out.length === 0) fail('empty');
  return out;
}
