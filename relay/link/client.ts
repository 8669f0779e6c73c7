// The Mac's side of the link: dials the hub (outbound only), runs the handshake against the pinned
// hub key, hands over a sealed channel, and redials with full-jitter backoff whenever it drops.
import WebSocket from 'ws';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SealedChannel, type ChannelOptions } from './channel.js';
import { CloseCode, closeReason } from './close-codes.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from './handshake.js';
import { fingerprint, generateKeyPair, type KeyPair } from './keys.js';
import { SessionCipher } from './session-cipher.js';

export interface LinkClientDeps {
  readonly url: string;
  readonly keys: KeyPair;
  readonly hubPublicKey: Uint8Array;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly channel: ChannelOptions;
  readonly backoff?: BackoffOptions;
  readonly handshakeTimeoutMs?: number;
  /** A new authenticated channel (after every reconnect). */
  readonly onChannel: (channel: SealedChannel) => void;
  /** The channel went away (code, reason); a redial is scheduled. */
  readonly onDown?: (code: number, why: string) => void;
}

/**
 * The WebSocket mask key of every frame we send: zero, which ws skips (PROTOCOL.md §3). Masking
 * (RFC 6455 §10.3) keeps script-chosen bytes off the wire, against intermediaries that would take
 * them for HTTP. Our frames are sealed (the hellos are keys and a fixed header), so their bytes are
 * already out of any sender's control; XOR-ing every byte in JavaScript was the largest single cost
 * of sending (15 % of the relay's CPU in the link benchmark).
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class LinkClient {
  private readonly backoff: Backoff;
  private stopped = true;
  private ws: WebSocket | null = null;
  private channel: SealedChannel | null = null;
  private timer: unknown = null;
  private attempts = 0;

  constructor(private readonly deps: LinkClientDeps) {
    this.backoff = new Backoff(deps.backoff);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.dial();
  }

  /** Closes the link cleanly and stops redialling. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.channel?.close(CloseCode.GoingAway, 'relay shutting down');
    this.ws?.close(CloseCode.GoingAway, 'relay shutting down');
    this.ws = null;
  }

  /** Number of dials so far (the first counts). */
  get dials(): number {
    return this.attempts;
  }

  private redial(code: number, why: string): void {
    this.ws = null;
    this.channel = null;
    this.deps.onDown?.(code, why);
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.deps.logger.info({ code, why, retryInMs: delay }, 'link down; redialling');
    this.timer = this.deps.clock.setTimeout(() => { this.timer = null; this.dial(); }, delay);
  }

  private dial(): void {
    if (this.stopped) return;
    this.attempts++;
    const ws = new WebSocket(this.deps.url, {
      perMessageDeflate: false, maxPayload: this.deps.channel.maxFrameBytes, handshakeTimeout: this.deps.handshakeTimeoutMs ?? 10_000,
      generateMask: zeroMask,
    });
    this.ws = ws;
    const ephemeral = generateKeyPair();
    const clientHello = encodeHello(CLIENT_HELLO, ephemeral.publicKey, this.deps.keys.publicKey);
    let handedOver = false;
    const timer = setTimeout(() => ws.terminate(), (this.deps.handshakeTimeoutMs ?? 10_000) + 1000);
    timer.unref();
    ws.on('error', (err) => this.deps.logger.debug({ err: err.message }, 'link socket error'));
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (!handedOver) this.redial(code, reason.toString() || closeReason(code));
    });
    ws.on('open', () => ws.send(clientHello, { binary: true }));
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      let hello;
      try {
        if (!isBinary) throw new Error('text frame before the handshake');
        hello = decodeHello(data as Buffer, SERVER_HELLO);
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'link: bad hello from the hub');
        ws.close(CloseCode.Protocol, 'bad hello');
        return;
      }
      if (Buffer.compare(Buffer.from(hello.static), Buffer.from(this.deps.hubPublicKey)) !== 0) {
        this.deps.logger.error({ fingerprint: fingerprint(hello.static), expected: fingerprint(this.deps.hubPublicKey) },
          'link: the hub presented a key that is not the pinned one; refusing');
        ws.close(CloseCode.WrongServerKey, 'wrong hub key');
        return;
      }
      const keys = deriveKeys('client', this.deps.keys, ephemeral, clientHello, Buffer.from(data as Buffer), hello);
      handedOver = true;
      const channel = new SealedChannel(ws, new SessionCipher(keys.clientToServer, keys.serverToClient), this.deps.clock, this.deps.channel);
      this.channel = channel;
      channel.onClosed((code, why) => this.redial(code, why));
      this.deps.onChannel(channel);
    });
  }

  /** Call once the peer has welcomed us: the next drop starts the backoff from the bottom. */
  connected(): void {
    this.backoff.reset();
  }
}
