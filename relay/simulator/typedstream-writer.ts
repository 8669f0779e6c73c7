// Writes attributedBody blobs (NSMutableAttributedString typedstreams) for any text, laid out
// exactly as Messages writes them: the simulated Messages (demo, tests) stores bodies with it.
// Checked byte-for-byte against the real fixture AttributedBodyTextOnly in test/typedstream.

const HEADER = Buffer.from('040b73747265616d747970656481e803', 'hex');

/** Attributes of one run: the message part and optionally an attachment, a mention or a link. */
export interface RunSpec {
  readonly length: number;
  readonly part?: number;
  readonly fileTransferGuid?: string;
  readonly mention?: string;
}

class Writer {
  private readonly chunks: Buffer[] = [HEADER];
  private readonly strings = new Map<string, number>();
  private readonly classes = new Map<string, number>();
  private readonly cstrings = new Map<string, number>();
  private objectCount = 0;

  bytes(b: Buffer | number[]): void {
    this.chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b));
  }

  int(v: number, signed: boolean): void {
    if (v >= -110 && v <= 127 && (signed || v >= 0)) { this.bytes([v & 0xff]); return; }
    if (signed ? v >= -32768 && v <= 32767 : v >= 0 && v <= 0xffff) {
      const b = Buffer.alloc(3); b[0] = 0x81;
      if (signed) b.writeInt16LE(v, 1); else b.writeUInt16LE(v, 1);
      this.bytes(b); return;
    }
    const b = Buffer.alloc(5); b[0] = 0x82;
    if (signed) b.writeInt32LE(v, 1); else b.writeUInt32LE(v, 1);
    this.bytes(b);
  }

  ref(index: number): void { this.int(index - 110, true); }

  shared(s: string): void {
    const idx = this.strings.get(s);
    if (idx !== undefined) { this.ref(idx); return; }
    this.strings.set(s, this.strings.size);
    const b = Buffer.from(s, 'latin1');
    this.bytes([0x84]); this.int(b.length, false); this.bytes(b);
  }

  /** A class chain, most derived first, each [name, version]; ends at nil or an already-written class. */
  classChain(chain: ReadonlyArray<readonly [string, number]>): void {
    for (const [name, version] of chain) {
      const idx = this.classes.get(name);
      if (idx !== undefined) { this.ref(idx); return; }
      this.classes.set(name, this.objectCount++);
      this.bytes([0x84]); this.shared(name); this.int(version, true);
    }
    this.bytes([0x85]);
  }

  beginObject(chain: ReadonlyArray<readonly [string, number]>): void {
    this.bytes([0x84]); this.objectCount++; this.classChain(chain);
  }

  end(): void { this.bytes([0x86]); }

  cstring(s: string): void {
    const idx = this.cstrings.get(s);
    if (idx !== undefined) { this.ref(idx); return; }
    this.cstrings.set(s, this.objectCount++);
    this.bytes([0x84]); this.shared(s);
  }

  nsString(s: string, mutable: boolean): void {
    this.beginObject(mutable ? [['NSMutableString', 1], ['NSString', 1], ['NSObject', 0]] : [['NSString', 1], ['NSObject', 0]]);
    const b = Buffer.from(s, 'utf8');
    this.shared('+'); this.int(b.length, false); this.bytes(b);
    this.end();
  }

  nsNumber(v: number): void {
    this.beginObject([['NSNumber', 0], ['NSValue', 0], ['NSObject', 0]]);
    this.shared('*'); this.cstring('i');
    this.shared('i'); this.int(v, true);
    this.end();
  }

  entry(key: string, write: () => void): void {
    this.shared('@'); this.nsString(key, false);
    this.shared('@'); write();
  }

  done(): Buffer { return Buffer.concat(this.chunks); }
}

/**
 * Encodes `text` as Messages does for a plain outgoing body: NSMutableAttributedString over an
 * NSMutableString, one run per RunSpec (default: one run, part 0, covering the whole text).
 */
export function encodeAttributedBody(text: string, runs?: readonly RunSpec[]): Buffer {
  const w = new Writer();
  w.shared('@');
  w.beginObject([['NSMutableAttributedString', 0], ['NSAttributedString', 0], ['NSObject', 0]]);
  w.shared('@');
  w.nsString(text, true);
  const specs = runs ?? (text.length === 0 ? [] : [{ length: text.length, part: 0 }]);
  let setId = 0;
  for (const run of specs) {
    w.shared('iI'); w.int(++setId, true); w.int(run.length, false);
    w.shared('@');
    w.beginObject([['NSDictionary', 0], ['NSObject', 0]]);
    const entries: Array<[string, () => void]> = [];
    if (run.fileTransferGuid !== undefined) entries.push(['__kIMFileTransferGUIDAttributeName', () => w.nsString(run.fileTransferGuid!, false)]);
    if (run.mention !== undefined) entries.push(['__kIMMentionConfirmedMention', () => w.nsString(run.mention!, false)]);
    entries.push(['__kIMMessagePartAttributeName', () => w.nsNumber(run.part ?? 0)]);
    w.shared('i'); w.int(entries.length, true);
    for (const [k, write] of entries) w.entry(k, write);
    w.end();
  }
  w.end();
  return w.done();
}
