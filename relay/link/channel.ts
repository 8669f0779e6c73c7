// A sealed channel over one WebSocket, after the handshake: messages are encoded, split into
// frames, sealed and sent; frames received are opened in order, joined and decoded. Any frame that
// fails closes the channel. A heartbeat keeps both ends honest about the connection being alive.
import type WebSocket from 'ws';
import type { Clock } from '../clock.js';
import { CloseCode } from './close-codes.js';
import { decodeMessage, encodeMessage, type LinkMessage } from './codec.js';
import { Reassembler, split } from './fragments.js';
import { SEAL_OVERHEAD, type SessionCipher } from './session-cipher.js';

export interface ChannelOptions {
  /** Send a ping this often (default 10 s). */
  readonly heartbeatMs: number;
  /** Close when nothing arrived for this long (default 30 s). */
  readonly deadAfterMs: number;
  /** Largest frame on the wire, sealed (default 1 MiB). */
  readonly maxFrameBytes: number;
  /** Largest message after joining its frames (default 64 MiB). */
  readonly maxMessageBytes: number;
}

export const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, maxMessageBytes: 64 * 1024 * 1024,
};

export interface ChannelHandlers {
  message(m: LinkMessage): void;
  close(code: number, why: string): void;
}

export class SealedChannel {
  private handlers: ChannelHandlers | null = null;
  private readonly reassembler: Reassembler;
  private lastHeard: number;
  private pingCounter = 0;
  private heartbeat: unknown = null;
  private closed = false;
  private queued: LinkMessage[] = [];
  private readonly closeListeners: Array<(code: number, why: string) => void> = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly cipher: SessionCipher,
    private readonly clock: Clock,
    private readonly opts: ChannelOptions,
  ) {
    this.reassembler = new Reassembler(opts.maxMessageBytes);
    this.lastHeard = clock.now();
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('close', (code, reason) => this.finish(code, reason.toString() || `closed with ${code}`));
    ws.on('error', (err) => this.fail(CloseCode.Protocol, `socket error: ${err.message}`));
    this.scheduleHeartbeat();
  }

  /** Starts delivering messages (those that arrived before are delivered first). */
  attach(handlers: ChannelHandlers): void {
    this.handlers = handlers;
    const early = this.queued;
    this.queued = [];
    for (const m of early) if (!this.closed) handlers.message(m);
  }

  /** Also tell `fn` when the channel closes (the transport's own bookkeeping). */
  onClosed(fn: (code: number, why: string) => void): void {
    this.closeListeners.push(fn);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes queued in the socket, for back-pressure. */
  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  send(m: LinkMessage): void {
    this.sendEncoded(encodeMessage(m));
  }

  /** Sends a message already encoded (see codec.encodeItems). */
  sendEncoded(bytes: Uint8Array): void {
    if (this.closed) return;
    for (const frame of split(bytes, this.opts.maxFrameBytes - SEAL_OVERHEAD)) {
      this.ws.send(this.cipher.seal(frame), { binary: true });
    }
  }

  /** Closes the channel cleanly with a code (and tells the handler). */
  close(code: number = CloseCode.Normal, why = 'closing'): void {
    if (this.closed) return;
    try {
      this.ws.close(code, why.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    this.finish(code, why);
  }

  private fail(code: number, why: string): void {
    if (this.closed) return;
    try {
      this.ws.close(code, why.slice(0, 120));
    } catch {
      /* already closing */
    }
    setTimeout(() => this.ws.terminate(), 1000).unref();
    this.finish(code, why);
  }

  private finish(code: number, why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== null) this.clock.clearTimeout(this.heartbeat);
    this.handlers?.close(code, why);
    for (const fn of this.closeListeners) fn(code, why);
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.fail(CloseCode.Protocol, 'text frame on a sealed channel');
    if (data.length > this.opts.maxFrameBytes) return this.fail(CloseCode.TooBig, `frame of ${data.length} bytes`);
    const plain = this.cipher.open(data);
    if (plain === null) return this.fail(CloseCode.BadFrame, 'frame failed to open (replayed, reordered, truncated or tampered)');
    this.lastHeard = this.clock.now();
    let message: LinkMessage;
    try {
      const whole = this.reassembler.push(plain);
      if (whole === null) return;
      message = decodeMessage(whole);
    } catch (err) {
      return this.fail(CloseCode.Protocol, (err as Error).message);
    }
    if (message.t === 'ping') {
      this.send({ t: 'pong', n: message.n });
      return;
    }
    if (message.t === 'pong') return;
    if (this.handlers === null) this.queued.push(message);
    else this.handlers.message(message);
  }

  private scheduleHeartbeat(): void {
    this.heartbeat = this.clock.setTimeout(() => {
      if (this.closed) return;
      if (this.clock.now() - this.lastHeard > this.opts.deadAfterMs) {
        this.fail(CloseCode.Dead, `nothing heard for ${this.opts.deadAfterMs} ms`);
        this.ws.terminate();
        return;
      }
      this.send({ t: 'ping', n: ++this.pingCounter });
      this.scheduleHeartbeat();
    }, Math.min(this.opts.heartbeatMs, this.opts.deadAfterMs / 2));
  }
}
