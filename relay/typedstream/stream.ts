// The typedstream grammar (chatdb.md §4.4): header, typed groups, shared-string and object tables.
// Produces a generic object graph; foundation.ts gives Foundation classes their meaning.
import { TypedstreamCode, typedstreamError } from './errors.js';
import {
  HEADER, REFERENCE_BIAS, TAG_END, TAG_FLOAT, TAG_INT16, TAG_INT32, TAG_INT64, TAG_MAX, TAG_MIN, TAG_NEW, TAG_NIL,
} from './tags.js';
import { parseTypeEncoding, type TypeCode } from './type-encoding.js';

/** A class in a class chain: name, archived version, superclass (null at the root). */
export interface TsClass {
  readonly kind: 'class';
  readonly name: string;
  readonly version: number;
  superclass: TsClass | null;
  /** Filled in by the Foundation reader: the first Foundation class in the chain it knows, or ''. */
  foundation?: string;
}

/** One typed group: the type string and one value per type code. */
export interface TsGroup {
  /** Byte offset of the group in the blob (for error messages). */
  readonly at: number;
  readonly types: string;
  readonly values: TsValue[];
}

/** An archived object: its class and the groups it wrote. */
export interface TsObject {
  readonly kind: 'object';
  /** Filled in by the Foundation reader: the decoded value (memo), or IN_PROGRESS while decoding. */
  decoded?: unknown;
  /** Byte offset of the object in the blob (for error messages). */
  readonly at: number;
  cls: TsClass | null;
  readonly groups: TsGroup[];
}

/** A C string (type '*'), kept apart from NSString bytes so interpreters can tell them apart. */
export interface TsCString {
  readonly kind: 'cstring';
  readonly bytes: Buffer;
}

export type TsValue = number | bigint | Buffer | TsObject | TsClass | TsCString | null | TsValue[];

/** Narrows a value to an archived object. */
export function isObject(v: TsValue | undefined): v is TsObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && v.kind === 'object';
}

type TableEntry = TsObject | TsClass | TsCString;

interface SharedString {
  readonly bytes: Buffer;
  text: string | undefined;
  types: readonly TypeCode[] | undefined;
}

const MAX_DEPTH = 64;

/**
 * Reads every top-level group of a typedstream blob.
 * @throws RelayError with a TS_* code and the byte offset on any malformed input; never anything else.
 */
export function readTypedstream(buf: Buffer): TsGroup[] {
  return new StreamReader(buf).readAll();
}

class StreamReader {
  private pos = 0;
  private readonly strings: SharedString[] = [];
  private readonly objects: TableEntry[] = [];
  private depth = 0;

  constructor(private readonly buf: Buffer) {}

  readAll(): TsGroup[] {
    const { buf } = this;
    if (buf.length < HEADER.length || buf.compare(HEADER, 0, HEADER.length, 0, HEADER.length) !== 0) {
      throw typedstreamError(TypedstreamCode.BadHeader, 'not a little-endian typedstream version 4, system 1000', 0);
    }
    this.pos = HEADER.length;
    const groups: TsGroup[] = [];
    while (this.pos < buf.length) groups.push(this.readGroup());
    if (groups.length === 0) throw typedstreamError(TypedstreamCode.Truncated, 'no content after the header', this.pos);
    return groups;
  }

  private fail(code: TypedstreamCode, message: string, at = this.pos): never {
    throw typedstreamError(code, message, at);
  }

  private next(): number {
    const b = this.buf[this.pos];
    if (b === undefined) this.fail(TypedstreamCode.Truncated, 'unexpected end of data');
    this.pos++;
    return b;
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) {
      this.fail(TypedstreamCode.Truncated, `${n} bytes declared, ${this.buf.length - this.pos} present`);
    }
  }

  private readInt(signed: boolean, head: number): number | bigint {
    const { buf } = this;
    switch (head) {
      case TAG_INT16: {
        this.need(2);
        const v = signed ? buf.readInt16LE(this.pos) : buf.readUInt16LE(this.pos);
        this.pos += 2;
        return v;
      }
      case TAG_INT32: {
        this.need(4);
        const v = signed ? buf.readInt32LE(this.pos) : buf.readUInt32LE(this.pos);
        this.pos += 4;
        return v;
      }
      case TAG_INT64: {
        this.need(8);
        const v = signed ? buf.readBigInt64LE(this.pos) : buf.readBigUInt64LE(this.pos);
        this.pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      default:
        if (head >= TAG_MIN && head <= TAG_MAX) this.fail(TypedstreamCode.BadTag, `tag 0x${head.toString(16)} where an integer was expected`, this.pos - 1);
        return signed ? (head << 24) >> 24 : head;
    }
  }

  /** A non-negative length or count that must fit in what is left of the buffer. */
  private readLength(head = this.next()): number {
    const at = this.pos - 1;
    const v = this.readInt(false, head);
    if (typeof v === 'bigint' || v < 0) this.fail(TypedstreamCode.Truncated, 'length beyond the data', at);
    const n = v as number;
    this.need(n);
    return n;
  }

  private reference(head: number): number {
    const v = this.readInt(true, head);
    if (typeof v === 'bigint') this.fail(TypedstreamCode.BadReference, 'reference out of range', this.pos - 1);
    return (v as number) + REFERENCE_BIAS;
  }

  private readShared(): SharedString | null {
    const at = this.pos;
    const head = this.next();
    if (head === TAG_NIL) return null;
    if (head === TAG_NEW) {
      const n = this.readLength();
      const s: SharedString = { bytes: this.buf.subarray(this.pos, this.pos + n), text: undefined, types: undefined };
      this.pos += n;
      this.strings.push(s);
      return s;
    }
    const idx = this.reference(head);
    const s = this.strings[idx];
    if (s === undefined) this.fail(TypedstreamCode.BadReference, `shared string #${idx} does not exist`, at);
    return s;
  }

  private sharedText(s: SharedString): string {
    if (s.text === undefined) s.text = s.bytes.toString('latin1');
    return s.text;
  }

  private tableEntry(head: number, at: number): TableEntry {
    const idx = this.reference(head);
    const e = this.objects[idx];
    if (e === undefined) this.fail(TypedstreamCode.BadReference, `object #${idx} does not exist`, at);
    return e;
  }

  private readGroup(): TsGroup {
    const at = this.pos;
    const s = this.readShared();
    if (s === null) this.fail(TypedstreamCode.BadType, 'nil where a type string was expected', at);
    if (s.types === undefined) s.types = parseTypeEncoding(this.sharedText(s), at);
    const values: TsValue[] = new Array(s.types.length);
    for (let i = 0; i < s.types.length; i++) values[i] = this.readValue(s.types[i]!);
    return { at, types: this.sharedText(s), values };
  }

  private readValue(t: TypeCode): TsValue {
    if (t.kind === 'array') {
      const el = t.element;
      if (el.kind === 'simple' && (el.code === 'c' || el.code === 'C')) {
        this.need(t.count);
        const b = this.buf.subarray(this.pos, this.pos + t.count);
        this.pos += t.count;
        return b;
      }
      this.need(t.count); // every element takes at least one byte: bounds the allocation
      const out: TsValue[] = new Array(t.count);
      for (let i = 0; i < t.count; i++) out[i] = this.readValue(el);
      return out;
    }
    if (t.kind === 'struct') return t.fields.map((f) => this.readValue(f));
    switch (t.code) {
      case '@': return this.readObject();
      case '#': return this.readClass();
      case '+': case '%': {
        const n = this.readLength();
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case '*': return this.readCString();
      case ':': {
        const s = this.readShared();
        return s === null ? null : s.bytes;
      }
      case 'c': case 'C': case 'B': return this.next();
      case 's': case 'i': case 'l': case 'q': return this.readInt(true, this.next());
      case 'S': case 'I': case 'L': case 'Q': return this.readInt(false, this.next());
      case 'f': case 'd': return this.readFloat(t.code === 'd');
      default: return this.fail(TypedstreamCode.BadType, `unsupported type ${t.code}`);
    }
  }

  private readFloat(double: boolean): number {
    const head = this.next();
    if (head !== TAG_FLOAT) {
      const v = this.readInt(true, head);
      return Number(v);
    }
    const n = double ? 8 : 4;
    this.need(n);
    const v = double ? this.buf.readDoubleLE(this.pos) : this.buf.readFloatLE(this.pos);
    this.pos += n;
    return v;
  }

  private readCString(): TsCString | null {
    const at = this.pos;
    const head = this.next();
    if (head === TAG_NIL) return null;
    if (head === TAG_NEW) {
      const s = this.readShared();
      if (s === null) this.fail(TypedstreamCode.BadStructure, 'nil inside a C string', at);
      const c: TsCString = { kind: 'cstring', bytes: s.bytes };
      this.objects.push(c);
      return c;
    }
    const e = this.tableEntry(head, at);
    if (e.kind !== 'cstring') this.fail(TypedstreamCode.BadReference, 'reference to a non-string where a C string was expected', at);
    return e;
  }

  private readClass(): TsClass | null {
    const at = this.pos;
    const head = this.next();
    if (head === TAG_NIL) return null;
    if (head !== TAG_NEW) {
      const e = this.tableEntry(head, at);
      if (e.kind !== 'class') this.fail(TypedstreamCode.BadReference, 'reference to a non-class in a class chain', at);
      return e;
    }
    const name = this.readShared();
    if (name === null) this.fail(TypedstreamCode.BadStructure, 'class without a name', at);
    const version = this.readInt(true, this.next());
    const cls: TsClass = { kind: 'class', name: this.sharedText(name), version: Number(version), superclass: null };
    this.objects.push(cls);
    cls.superclass = this.readClass();
    return cls;
  }

  private readObject(): TsObject | null {
    const at = this.pos;
    const head = this.next();
    if (head === TAG_NIL) return null;
    if (head !== TAG_NEW) {
      const e = this.tableEntry(head, at);
      if (e.kind !== 'object') this.fail(TypedstreamCode.BadReference, 'reference to a non-object where an object was expected', at);
      return e;
    }
    if (++this.depth > MAX_DEPTH) this.fail(TypedstreamCode.TooDeep, `objects nested deeper than ${MAX_DEPTH}`, at);
    const obj: TsObject = { kind: 'object', at, cls: null, groups: [] };
    this.objects.push(obj); // numbered before its class is read
    obj.cls = this.readClass();
    for (;;) {
      const b = this.buf[this.pos];
      if (b === undefined) this.fail(TypedstreamCode.Truncated, 'object not closed before the end of data');
      if (b === TAG_END) break;
      obj.groups.push(this.readGroup());
    }
    this.pos++;
    this.depth--;
    return obj;
  }
}
