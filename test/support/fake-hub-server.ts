// A hostile hub for the Mac daemon's tests: a node:net server that does the WebSocket upgrade by
// hand and writes raw RFC 6455 frames (valid or not; raw-ws-frames.ts encodes and parses them), and
// can play the hub's half of the link handshake (it may know the hub's secret key) so that it can
// send sealed frames of its choosing.
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { encodeMessage, type LinkMessage } from '../../relay/link/codec.js';
import { split } from '../../relay/link/fragments.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello, ephemeralKeyPair } from '../../relay/link/handshake.js';
import type { KeyPair } from '../../relay/link/keys.js';
import { SessionCipher } from '../../relay/link/session-cipher.js';
import { Op, encodeFrame as encodeWireFrame, parseFrame, type FrameSpec as WireFrameSpec, type WsFrame } from './raw-ws-frames.js';

export { Op, parseFrame, type WsFrame } from './raw-ws-frames.js';

/** A frame as the fake hub writes it: like raw-ws-frames' FrameSpec, but unmasked unless `mask` is given. */
export interface FrameSpec extends Omit<WireFrameSpec, 'mask'> {
  /** Mask key (a server must not mask; a hostile one may). */
  readonly mask?: Uint8Array;
}

/** Encodes one server frame, faithfully or not (see FrameSpec). */
export function encodeFrame(s: FrameSpec): Buffer {
  return encodeWireFrame({ ...s, mask: s.mask ?? null });
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** The 101 answer that completes the upgrade for `key`. */
export function upgradeResponse(key: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`;
}

/** Seals a link message as one whole frame (flag 0). */
export function sealMessage(cipher: SessionCipher, m: LinkMessage): Buffer {
  return Buffer.from(cipher.seal(split(encodeMessage(m), 1 << 30)[0]!));
}

/** The hub's side of one link after the handshake: what the fake server seals with. */
export interface ServerSession {
  readonly cipher: SessionCipher;
  readonly clientHello: Buffer;
  readonly serverHello: Buffer;
}

/** One connection from the daemon, driven by the test. */
export class FakeConnection {
  readonly frames: WsFrame[] = [];
  /** Raw bytes the daemon sent after its HTTP request (frames not parsed yet). */
  private pending = Buffer.alloc(0);
  private head: string | null = null;
  private waiters: Array<() => void> = [];
  ended = false;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => this.onData(d));
    this.closed = new Promise((resolve) => socket.on('close', () => { this.ended = true; this.wake(); resolve(); }));
    socket.on('end', () => { this.ended = true; this.wake(); });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private onData(d: Buffer): void {
    this.pending = Buffer.concat([this.pending, d]);
    if (this.head === null) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.pending.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + 4);
    }
    for (;;) {
      const f = parseFrame(this.pending);
      if (f === null) break;
      this.frames.push(f.frame);
      this.pending = this.pending.subarray(f.size);
    }
    this.wake();
  }

  /** Resolves when `check` holds or the connection has ended (then false), or after `timeoutMs` (false). */
  until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiters = this.waiters.filter((w) => w !== test); resolve(check()); }, timeoutMs);
      const test = (): void => {
        if (check()) { clearTimeout(timer); resolve(true); return; }
        if (this.ended) { clearTimeout(timer); resolve(false); return; }
        this.waiters.push(test);
      };
      test();
    });
  }

  /** The daemon's HTTP upgrade request: its head and Sec-WebSocket-Key. */
  async request(timeoutMs = 10_000): Promise<{ head: string; key: string }> {
    if (!(await this.until(() => this.head !== null, timeoutMs))) throw new Error('no HTTP request from the daemon');
    const key = /^sec-websocket-key:\s*(\S+)/im.exec(this.head!)?.[1];
    if (key === undefined) throw new Error(`no Sec-WebSocket-Key in ${this.head}`);
    return { head: this.head!, key };
  }

  /** Reads the request and answers 101. */
  async upgrade(): Promise<void> {
    const { key } = await this.request();
    this.write(upgradeResponse(key));
  }

  write(bytes: Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Writes one frame (server frames are unmasked unless the spec says otherwise). */
  send(spec: FrameSpec): void {
    this.write(encodeFrame(spec));
  }

  sendBinary(payload: Uint8Array): void {
    this.send({ opcode: Op.Binary, payload });
  }

  /** The next data frame from the daemon (control frames are kept in `frames` but skipped), or null at the end. */
  async nextData(timeoutMs = 10_000): Promise<WsFrame | null> {
    let at = 0;
    const found = (): boolean => {
      for (; at < this.frames.length; at++) if ((this.frames[at]!.opcode & 8) === 0) return true;
      return false;
    };
    if (!(await this.until(found, timeoutMs))) return null;
    return this.frames.splice(at, 1)[0]!;
  }

  /** The daemon sent a close frame, or the TCP connection ended. */
  get closing(): boolean {
    return this.ended || this.frames.some((f) => f.opcode === Op.Close);
  }

  /** The close frame's code and reason, if the daemon sent one. */
  closeFrame(): { code: number; reason: string } | null {
    const f = this.frames.find((x) => x.opcode === Op.Close);
    if (f === undefined) return null;
    return f.payload.length >= 2 ? { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() } : { code: 1005, reason: '' };
  }

  /** Reads the ClientHello (after `upgrade`). */
  async clientHello(timeoutMs = 10_000): Promise<Buffer> {
    const f = await this.nextData(timeoutMs);
    if (f === null) throw new Error('the daemon sent no ClientHello');
    decodeHello(f.payload, CLIENT_HELLO);
    return f.payload;
  }

  /**
   * Plays the hub's half of the handshake with the hub's key pair: reads the ClientHello, answers
   * with a ServerHello (optionally sent by the caller through `sendHello` to mutate it), derives keys.
   */
  async handshake(hub: KeyPair, sendHello: (hello: Buffer) => void = (h) => this.sendBinary(h)): Promise<ServerSession> {
    const clientHello = await this.clientHello();
    const eph = ephemeralKeyPair();
    const serverHello = encodeHello(SERVER_HELLO, eph.publicKey, hub.publicKey);
    const keys = deriveKeys('server', hub, eph, clientHello, serverHello, decodeHello(clientHello, CLIENT_HELLO));
    sendHello(serverHello);
    return { cipher: new SessionCipher(keys.serverToClient, keys.clientToServer), clientHello, serverHello };
  }

  /** Ends the connection without a close frame. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** The server the daemon dials: hands each connection to the test, or pipes it to a real hub. */
export class FakeHubServer {
  private server: Server | null = null;
  private readonly queue: FakeConnection[] = [];
  private waiters: Array<() => void> = [];
  private throughTo: number | null = null;
  private readonly open = new Set<Socket>();
  private readonly piped = new Set<Socket>();
  accepted = 0;
  port = 0;

  /** Listens on `port` (0: any) on 127.0.0.1. */
  async start(port = 0): Promise<number> {
    this.server = createServer((socket) => {
      this.accepted++;
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
      if (this.throughTo !== null) return this.pipe(socket, this.throughTo);
      this.queue.push(new FakeConnection(socket));
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    });
    await new Promise<void>((resolve, reject) => { this.server!.once('error', reject); this.server!.listen(port, '127.0.0.1', () => resolve()); });
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** From now on, new connections go straight to a real hub on `port` (null: back to the test). */
  passThrough(port: number | null): void {
    this.throughTo = port;
  }

  /** Drops every connection piped to a real hub so far (the daemon redials). */
  cutThrough(): void {
    for (const s of this.piped) s.destroy();
    this.piped.clear();
  }

  private pipe(client: Socket, port: number): void {
    const upstream = connect(port, '127.0.0.1');
    this.open.add(upstream);
    this.piped.add(client);
    upstream.on('close', () => { this.open.delete(upstream); this.piped.delete(client); });
    const end = (): void => { client.destroy(); upstream.destroy(); };
    client.on('error', end); upstream.on('error', end);
    client.on('close', end); upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** The next connection the daemon makes (already made or yet to come); those it gave up on already are skipped. */
  async accept(timeoutMs = 15_000): Promise<FakeConnection> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0 && this.queue[0]!.ended) this.queue.shift();
      if (this.queue.length > 0) break;
      if (Date.now() > until) throw new Error(`the daemon did not dial within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, until - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.queue.shift()!;
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => (this.server === null ? resolve() : this.server.close(() => resolve())));
  }
}
