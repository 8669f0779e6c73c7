// WebSocket by hand for network-edge tests: the HTTP upgrade written over node:net and RFC 6455
// frames built and parsed byte by byte (any length field, mask, RSV bits or opcode, valid or not),
// so a test can send what no ws client would, and read the server's frames back.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from '../../relay/link/handshake.js';
import { generateKeyPair, type KeyPair } from '../../relay/link/keys.js';
import { SessionCipher } from '../../relay/link/session-cipher.js';
import { decodeMessage, encodeMessage, type LinkMessage } from '../../relay/link/codec.js';

export const Op = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Uint8Array;
  /** FIN bit (default true). */
  readonly fin?: boolean;
  /** RSV1..3 as a 3-bit number (default 0). */
  readonly rsv?: number;
  /** The mask key; null sends the frame unmasked (a violation from a client). Default: random. */
  readonly mask?: Uint8Array | null;
  /** Writes this in the length field instead of the payload's length (the payload bytes still follow as given). */
  readonly declaredLength?: bigint;
  /** Forces the length encoding: 7 bits, 16 bits (126) or 64 bits (127), whatever the length. */
  readonly lengthForm?: 7 | 16 | 64;
}

/** One RFC 6455 frame as a client would put it on the wire (§5.2), violations allowed. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = Buffer.from(spec.payload ?? new Uint8Array(0));
  const length = spec.declaredLength ?? BigInt(payload.length);
  const form = spec.lengthForm ?? (length < 126n ? 7 : length < 65536n ? 16 : 64);
  const mask = spec.mask === undefined ? randomBytes(4) : spec.mask;
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 7) << 4 | (spec.opcode & 0x0f)];
  const maskBit = mask === null ? 0 : 0x80;
  let ext = Buffer.alloc(0);
  if (form === 7) head.push(maskBit | Number(length & 0x7fn));
  else if (form === 16) { head.push(maskBit | 126); ext = Buffer.alloc(2); ext.writeUInt16BE(Number(length & 0xffffn)); }
  else { head.push(maskBit | 127); ext = Buffer.alloc(8); ext.writeBigUInt64BE(BigInt.asUintN(64, length)); }
  const body = Buffer.from(payload);
  if (mask !== null) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, mask === null ? Buffer.alloc(0) : Buffer.from(mask), body]);
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
}

/** One WebSocket frame as read from the wire (payload unmasked). */
export interface WsFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Buffer;
}

/** Parses one frame at the start of `b` (§5.2; a masked one is unmasked), or null when it is not complete yet. */
export function parseFrame(b: Buffer): { frame: WsFrame; size: number } | null {
  if (b.length < 2) return null;
  const masked = (b[1]! & 0x80) !== 0;
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) { if (b.length < 4) return null; len = b.readUInt16BE(2); at = 4; }
  else if (len === 127) { if (b.length < 10) return null; len = Number(b.readBigUInt64BE(2)); at = 10; }
  const maskKey = masked ? b.subarray(at, at + 4) : null;
  if (masked) at += 4;
  if (b.length < at + len) return null;
  const payload = Buffer.from(b.subarray(at, at + len));
  if (maskKey !== null) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ maskKey[i % 4]!;
  return { frame: { fin: (b[0]! & 0x80) !== 0, rsv: (b[0]! >> 4) & 7, opcode: b[0]! & 0x0f, masked, payload }, size: at + len };
}

export interface ServerFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** The upgrade request a browser would send (or the caller's replacement of it). */
export function upgradeRequest(host: string, port: number): Buffer {
  return Buffer.from([
    'GET / HTTP/1.1', `Host: ${host}:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', '',
  ].join('\r\n'));
}

export interface RawWsOptions {
  readonly host?: string;
  /** Bind the client end to this address (e.g. 127.0.0.2: another "source address" on loopback). */
  readonly localAddress?: string;
  /** Send these bytes instead of a well-formed upgrade request. */
  readonly request?: Buffer;
  /** Resolve once connected, without waiting for the answer to the upgrade (default: wait). */
  readonly noWait?: boolean;
}

/**
 * One TCP connection speaking WebSocket by hand. Collects the server's frames; `ended` resolves
 * when the server has closed the TCP connection (or it was reset).
 */
export class RawWs {
  readonly frames: ServerFrame[] = [];
  /** The HTTP status line the server answered the upgrade with. */
  status = '';
  readonly ended: Promise<void>;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private waiters: Array<() => void> = [];
  private done = false;

  private constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => this.onData(d));
    this.ended = new Promise((resolve) => socket.once('close', () => { this.done = true; this.wake(); resolve(); }));
  }

  /** Connects and sends the upgrade request; resolves once the server has answered it (101 or not). */
  static async open(port: number, opts: RawWsOptions = {}): Promise<RawWs> {
    const host = opts.host ?? '127.0.0.1';
    const socket = connect({ host, port, localAddress: opts.localAddress });
    socket.setNoDelay(true);
    const c = new RawWs(socket);
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    socket.write(opts.request ?? upgradeRequest(host, port));
    if (opts.noWait !== true) await c.until(() => c.status !== '', 'the upgrade answer');
    return c;
  }

  get isUpgraded(): boolean {
    return this.upgraded;
  }

  get isClosed(): boolean {
    return this.done;
  }

  /** The close frame the server sent, if any: its code (1005 when it carried none). */
  get closeCode(): number | null {
    const f = this.frames.find((x) => x.opcode === Op.Close);
    return f === undefined ? null : f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  send(spec: FrameSpec): void {
    this.write(encodeFrame(spec));
  }

  sendBinary(payload: Uint8Array): void {
    this.send({ opcode: Op.Binary, payload });
  }

  /** Waits until `check` holds (checked on every frame received and at the close); false if the connection ended first. */
  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.done) return check();
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`raw ws: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return true;
  }

  /** Waits for the next server frame after the `index`-th; null if the connection ended first. */
  async frameAt(index: number, timeoutMs = 10_000): Promise<ServerFrame | null> {
    await this.until(() => this.frames.length > index, `frame ${index}`, timeoutMs);
    return this.frames[index] ?? null;
  }

  /** Ends our side (FIN) and waits for the server to close. */
  async finish(timeoutMs = 10_000): Promise<void> {
    this.socket.end();
    await this.until(() => false, 'the server to close', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded && this.status === '') {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return this.wake();
      this.status = this.buf.subarray(0, this.buf.indexOf('\r\n')).toString('latin1');
      this.upgraded = / 101 /.test(this.status);
      this.buf = this.buf.subarray(end + 4);
    }
    if (this.upgraded) this.parseFrames();
    this.wake();
  }

  private parseFrames(): void {
    for (;;) {
      const f = parseFrame(this.buf);
      if (f === null) return;
      this.frames.push(f.frame);
      this.buf = this.buf.subarray(f.size);
    }
  }
}

/** The link handshake over a RawWs: hello sent, ServerHello read, keys derived. */
export interface RawHandshake {
  readonly hello: Buffer;
  readonly cipher: SessionCipher;
  /** Seals a message as the next frame's payload (whole message, flag 0). */
  seal(m: LinkMessage): Buffer;
  /** Messages the server sent after the handshake, opened in order (stops at the first that fails). */
  opened(): LinkMessage[];
}

/**
 * Sends a ClientHello for `keys` and waits for the ServerHello. Null when the server closed instead
 * (unknown key, rate limit, …).
 */
export async function rawHandshake(c: RawWs, keys: KeyPair, ephemeral: KeyPair = generateKeyPair()): Promise<RawHandshake | null> {
  const hello = encodeHello(CLIENT_HELLO, ephemeral.publicKey, keys.publicKey);
  const first = c.frames.length;
  c.sendBinary(hello);
  const reply = await c.frameAt(first);
  if (reply === null || reply.opcode !== Op.Binary) return null;
  const serverHello = reply.payload;
  const k = deriveKeys('client', keys, ephemeral, hello, serverHello, decodeHello(serverHello, SERVER_HELLO));
  const cipher = new SessionCipher(k.clientToServer, k.serverToClient);
  const opened: LinkMessage[] = [];
  let next = first + 1;
  return {
    hello, cipher,
    seal: (m) => Buffer.from(cipher.seal(Buffer.concat([Buffer.from([0]), encodeMessage(m)]))),
    opened: () => {
      for (; next < c.frames.length; next++) {
        const f = c.frames[next]!;
        if (f.opcode !== Op.Binary) continue;
        const plain = cipher.open(f.payload);
        if (plain === null) break;
        opened.push(decodeMessage(plain.subarray(1)));
      }
      return opened;
    },
  };
}
