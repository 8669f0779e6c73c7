// Splits a message into frames no larger than the frame limit and joins them again
// (PROTOCOL.md §3): one flag byte per frame, 0 = whole, 1 = more follow, 2 = last part.

export const WHOLE = 0;
export const MORE = 1;
export const LAST = 2;

/** Frames (before sealing) for one message; each at most `maxPlain` bytes including the flag. */
export function split(message: Uint8Array, maxPlain: number): Uint8Array[] {
  const room = maxPlain - 1;
  if (message.length <= room) {
    const f = new Uint8Array(message.length + 1);
    f[0] = WHOLE;
    f.set(message, 1);
    return [f];
  }
  const out: Uint8Array[] = [];
  for (let at = 0; at < message.length; at += room) {
    const part = message.subarray(at, at + room);
    const f = new Uint8Array(part.length + 1);
    f[0] = at + room >= message.length ? LAST : MORE;
    f.set(part, 1);
    out.push(f);
  }
  return out;
}

/** Reassembles messages; refuses one larger than `maxMessage` bytes. */
export class Reassembler {
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxMessage: number) {}

  /** A complete message, null while parts are pending; throws on a bad flag or a message too large. */
  push(frame: Uint8Array): Uint8Array | null {
    const flag = frame[0];
    const body = frame.subarray(1);
    if (flag === WHOLE) {
      if (this.parts.length > 0) throw new Error('whole frame inside a fragmented message');
      return body;
    }
    if (flag !== MORE && flag !== LAST) throw new Error(`bad fragment flag ${String(flag)}`);
    this.size += body.length;
    if (this.size > this.maxMessage) throw new Error(`message larger than ${this.maxMessage} bytes`);
    this.parts.push(body);
    if (flag === MORE) return null;
    const out = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return out;
  }
}
