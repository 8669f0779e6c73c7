// Gives the Foundation classes found in message bodies their meaning (chatdb.md §4.5):
// NSString, NSAttributedString, NSDictionary, NSNumber, NSURL, NSData, NSArray.
import { TypedstreamCode, typedstreamError } from './errors.js';
import { isObject, type TsClass, type TsGroup, type TsObject, type TsValue } from './stream.js';

/** A decoded attribute value. Unknown classes become `{ class: name }`. */
export type FoundationValue =
  | string
  | number
  | bigint
  | null
  | Buffer
  | { readonly url: string }
  | { readonly class: string }
  | readonly FoundationValue[]
  | FoundationDictionary;

export interface FoundationDictionary {
  readonly [key: string]: FoundationValue;
}

/** A run of an attributed string: UTF-16 offsets and the attributes that apply. */
export interface AttributeRun {
  readonly start: number;
  readonly length: number;
  readonly attributes: FoundationDictionary;
}

export interface AttributedString {
  readonly text: string;
  readonly runs: readonly AttributeRun[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const IN_PROGRESS = Symbol('in-progress');
const MAX_DEPTH = 64;

/** Names of a class and all its superclasses. */
export function classNames(cls: TsClass | null): string[] {
  const names: string[] = [];
  for (let c = cls; c !== null && names.length < MAX_DEPTH; c = c.superclass) names.push(c.name);
  return names;
}

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function bad(message: string, at: number): never {
  throw typedstreamError(TypedstreamCode.BadStructure, message, at);
}

function single(g: TsGroup | undefined, types: string, at: number): TsValue {
  if (g === undefined || g.types !== types || g.values.length !== 1) bad(`expected a group "${types}"`, g?.at ?? at);
  return g.values[0]!;
}

function isDictionary(v: FoundationValue): v is FoundationDictionary {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && !('class' in v) && !('url' in v);
}

/** Turns a generic object graph into Foundation values, memoised so shared objects cost once. */
const KNOWN = new Set(['NSString', 'NSAttributedString', 'NSDictionary', 'NSArray', 'NSNumber', 'NSURL', 'NSData']);

/** The first class in the chain this reader knows how to read ('' when none), cached on the class. */
function foundationClass(cls: TsClass | null): string {
  if (cls === null) return '';
  if (cls.foundation === undefined) cls.foundation = classNames(cls).find((n) => KNOWN.has(n)) ?? '';
  return cls.foundation;
}

export class FoundationReader {
  private depth = 0;

  value(v: TsValue): FoundationValue {
    if (v === null || typeof v === 'number' || typeof v === 'bigint') return v;
    if (Buffer.isBuffer(v)) return v;
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v.kind === 'cstring') return v.bytes.toString('latin1');
    if (v.kind === 'class') return { class: v.name };
    return this.object(v);
  }

  object(o: TsObject): FoundationValue {
    const seen = o.decoded;
    if (seen === IN_PROGRESS) bad('object refers to itself', o.at);
    if (seen !== undefined) return seen as FoundationValue;
    if (++this.depth > MAX_DEPTH) throw typedstreamError(TypedstreamCode.TooDeep, 'objects nested too deeply', o.at);
    o.decoded = IN_PROGRESS;
    const out = this.interpret(o);
    o.decoded = out;
    this.depth--;
    return out;
  }

  /** Decodes an NSAttributedString: text and runs, checked to cover the text exactly. */
  attributedString(o: TsObject): AttributedString {
    const names = classNames(o.cls);
    if (!names.includes('NSAttributedString')) bad(`root is ${names[0] ?? 'nil'}, not an NSAttributedString`, o.at);
    const [first, ...rest] = o.groups;
    const strObj = single(first, '@', o.at);
    const text = isObject(strObj) ? this.object(strObj) : null;
    if (typeof text !== 'string') bad('attributed string without an NSString', first?.at ?? o.at);
    const sets = new Map<number, FoundationDictionary>();
    const runs: AttributeRun[] = [];
    let start = 0;
    for (let i = 0; i < rest.length; i++) {
      const g = rest[i]!;
      const [id, length] = g.values;
      if (g.types !== 'iI' || typeof id !== 'number' || typeof length !== 'number') bad('attribute run is not (i, I)', g.at);
      let attrs = sets.get(id);
      if (attrs === undefined) {
        const dictGroup = rest[++i];
        const dictObj = single(dictGroup, '@', g.at);
        const dict = isObject(dictObj) ? this.object(dictObj) : null;
        if (dict === null || !isDictionary(dict)) bad('new attribute set without a dictionary', dictGroup?.at ?? g.at);
        attrs = dict;
        sets.set(id, attrs);
      }
      runs.push({ start, length, attributes: attrs });
      start += length;
    }
    if (runs.length > 0 && start !== text.length) {
      throw typedstreamError(TypedstreamCode.BadRuns, `attribute runs cover ${start} UTF-16 units, text has ${text.length}`, o.at);
    }
    return { text, runs };
  }

  private interpret(o: TsObject): FoundationValue {
    const g = o.groups;
    {
      switch (foundationClass(o.cls)) {
        case 'NSString': {
          const bytes = single(g[0], '+', o.at);
          if (!Buffer.isBuffer(bytes)) bad('NSString without bytes', o.at);
          try {
            return bytes.length <= 64 && isAscii(bytes) ? bytes.toString('latin1') : utf8.decode(bytes);
          } catch {
            throw typedstreamError(TypedstreamCode.BadUtf8, 'NSString bytes are not valid UTF-8', g[0]!.at);
          }
        }
        case 'NSAttributedString': return this.attributedString(o).text;
        case 'NSDictionary': return this.dictionary(o);
        case 'NSArray': {
          const count = single(g[0], 'i', o.at);
          if (count !== g.length - 1) bad('NSArray count does not match its items', o.at);
          return g.slice(1).map((item) => this.value(single(item, '@', o.at)));
        }
        case 'NSNumber': {
          const typeCode = g[0]?.values[0];
          const value = g[1]?.values[0];
          if (g[0]?.types !== '*' || typeof typeCode !== 'object' || typeCode === null || Array.isArray(typeCode) || Buffer.isBuffer(typeCode) || typeCode.kind !== 'cstring') {
            bad('NSNumber without a type code', o.at);
          }
          if (typeof value !== 'number' && typeof value !== 'bigint') bad('NSNumber without a value', o.at);
          return value;
        }
        case 'NSURL': {
          const hasBase = single(g[0], 'c', o.at);
          const s = single(hasBase ? g[2] : g[1], '@', o.at);
          const url = isObject(s) ? this.object(s) : null;
          if (typeof url !== 'string') bad('NSURL without a string', o.at);
          return { url };
        }
        case 'NSData': {
          const len = single(g[0], 'i', o.at);
          const bytes = g[1]?.values[0];
          if (!Buffer.isBuffer(bytes) || bytes.length !== len) bad('NSData length does not match its bytes', o.at);
          return bytes;
        }
        default: break;
      }
    }
    return { class: classNames(o.cls)[0] ?? 'nil' };
  }

  private dictionary(o: TsObject): FoundationValue {
    const g = o.groups;
    const count = single(g[0], 'i', o.at);
    if (typeof count !== 'number' || count < 0 || g.length !== 1 + 2 * count) bad('NSDictionary count does not match its entries', o.at);
    const out: Record<string, FoundationValue> = Object.create(null) as Record<string, FoundationValue>;
    for (let i = 0; i < count; i++) {
      const k = this.value(single(g[1 + 2 * i], '@', o.at));
      if (typeof k !== 'string') bad('NSDictionary key is not a string', g[1 + 2 * i]!.at);
      out[k] = this.value(single(g[2 + 2 * i], '@', o.at));
    }
    return out;
  }
}
