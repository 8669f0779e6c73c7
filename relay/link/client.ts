// The Mac's side of the link: dials the hub (outbound only), runs the handshake against the pinned
// hub key, hands over a sealed channel, and redials with full-jitter backoff whenever it drops.
import WebSocket from 'ws';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SealedChannel, type ChannelOptions } from './channel.js';
import { CloseCode, closeReason } from './close-codes.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello, ephemeralKeyPair, samePublicKey, type Hello } from './handshake.js';
import { fingerprint, type KeyPair } from './keys.js';
import { SessionCipher } from './session-cipher.js';

export interface LinkClientDeps {
  readonly url: string;
  readonly keys: KeyPair;
  readonly hubPublicKey: Uint8Array;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly channel: ChannelOptions;
  readonly backoff?: BackoffOptions;
  /** Hellos must be exchanged within this (default 10 s), else the dial is closed (4009). */
  readonly handshakeTimeoutMs?: number;
  /** After the handshake, a peer that has not welcomed us (see `connected`) within this is closed (4009). Default: no limit. */
  readonly welcomeWithinMs?: number;
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

type HelloVerdict =
  | { readonly ok: true; readonly bytes: Buffer; readonly hello: Hello }
  | { readonly ok: false; readonly code: number; readonly why: string; readonly log: Record<string, unknown> };

/** Judges the first message from the hub: a binary ServerHello carrying the pinned hub key. */
function checkServerHello(data: WebSocket.RawData, isBinary: boolean, pinned: Uint8Array): HelloVerdict {
  if (!isBinary) return { ok: false, code: CloseCode.Protocol, why: 'bad hello from the hub: a text frame', log: {} };
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
  let hello: Hello;
  try {
    hello = decodeHello(bytes, SERVER_HELLO);
  } catch (err) {
    return { ok: false, code: CloseCode.Protocol, why: `bad hello from the hub: ${(err as Error).message}`, log: { code: (err as { code?: unknown }).code ?? null } };
  }
  if (!samePublicKey(hello.static, pinned)) {
    const presented = fingerprint(hello.static);
    return { ok: false, code: CloseCode.WrongServerKey, why: `the hub presented a key that is not the pinned one (${presented})`, log: { fingerprint: presented, expected: fingerprint(pinned) } };
  }
  return { ok: true, bytes, hello };
}

/** The close code ws attached to an error about the peer's frames (1002, 1007, 1009), if any. */
function wsStatusCode(err: Error): number | null {
  const sym = Object.getOwnPropertySymbols(err).find((x) => x.description === 'status-code');
  const v = sym === undefined ? undefined : (err as unknown as Record<symbol, unknown>)[sym];
  return typeof v === 'number' ? v : null;
}

/** Why a connection that closed before the handshake finished did so, for logs and /health. */
function closedWhy(code: number, reason: string, lastError: string | null): string {
  if (code === 1006) return lastError === null ? 'connection dropped before the handshake finished' : lastError;
  return `the hub closed the connection: ${reason === '' ? closeReason(code) : reason}`;
}

export class LinkClient {
  private readonly backoff: Backoff;
  private stopped = true;
  private ws: WebSocket | null = null;
  private channel: SealedChannel | null = null;
  private timer: unknown = null;
  private attempts = 0;
  private failures = 0;
  private welcomed = false;

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
    this.failures++;
    this.deps.onDown?.(code, why);
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.deps.logger.info({ code, why, retryInMs: delay }, 'link down; redialling');
    this.timer = this.deps.clock.setTimeout(() => { this.timer = null; this.dial(); }, delay);
  }

  private dial(): void {
    if (this.stopped) return;
    this.attempts++;
    const handshakeMs = this.deps.handshakeTimeoutMs ?? 10_000;
    const ws = new WebSocket(this.deps.url, {
      perMessageDeflate: false, maxPayload: this.deps.channel.maxFrameBytes, handshakeTimeout: handshakeMs,
      generateMask: zeroMask,
    });
    this.ws = ws;
    const ephemeral = ephemeralKeyPair();
    const clientHello = encodeHello(CLIENT_HELLO, ephemeral.publicKey, this.deps.keys.publicKey);
    // This connection ends once: by our refusal, the peer's close, a socket error or the timer.
    let over = false;
    let lastError: string | null = null;
    const down = (code: number, why: string): void => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      this.redial(code, why);
    };
    const refuse = (code: number, why: string): void => {
      try {
        ws.close(code, closeReason(code));
      } catch {
        ws.terminate();
      }
      // A peer that never answers our close frame does not hold the socket for ws's 30 s.
      setTimeout(() => ws.terminate(), 1000).unref();
      down(code, why);
    };
    const timer = setTimeout(() => refuse(CloseCode.HandshakeTimeout, `no hello from the hub within ${handshakeMs} ms`), handshakeMs + 1000);
    timer.unref();
    ws.on('error', (err) => {
      lastError = err.message;
      this.deps.logger.debug({ err: err.message }, 'link socket error');
      // ws answers a broken frame with a close frame and would wait 30 s for the peer's: don't.
      if (over) return;
      setTimeout(() => ws.terminate(), 1000).unref();
      down(wsStatusCode(err) ?? 1006, err.message);
    });
    ws.on('close', (code, reason) => down(code, closedWhy(code, reason.toString(), lastError)));
    ws.on('open', () => ws.send(clientHello, { binary: true }));
    ws.once('message', (data, isBinary) => {
      if (over) return;
      clearTimeout(timer);
      const verdict = checkServerHello(data, isBinary, this.deps.hubPublicKey);
      if (!verdict.ok) {
        this.deps.logger.error(verdict.log, `link: ${verdict.why}; refusing`);
        refuse(verdict.code, verdict.why);
        return;
      }
      let keys;
      try {
        keys = deriveKeys('client', this.deps.keys, ephemeral, clientHello, verdict.bytes, verdict.hello);
      } catch (err) {
        // A low-order ephemeral key from the peer (an all-zero DH result).
        const why = `bad hello from the hub: ${(err as Error).message}`;
        this.deps.logger.error({ err: (err as Error).message }, `link: ${why}; refusing`);
        refuse(CloseCode.Protocol, why);
        return;
      }
      over = true;
      const channel = new SealedChannel(ws, new SessionCipher(keys.clientToServer, keys.serverToClient), this.deps.clock, this.deps.channel);
      this.channel = channel;
      const welcomeMs = this.deps.welcomeWithinMs;
      const welcomeTimer = welcomeMs === undefined ? null : setTimeout(() => {
        if (this.channel === channel && !this.welcomed) channel.close(CloseCode.HandshakeTimeout, `no welcome from the hub within ${welcomeMs} ms`);
      }, welcomeMs);
      welcomeTimer?.unref();
      this.welcomed = false;
      channel.onClosed((code, why) => {
        if (welcomeTimer !== null) clearTimeout(welcomeTimer);
        this.redial(code, why);
      });
      this.deps.onChannel(channel);
    });
  }

  /** Call once the peer has welcomed us: the next drop starts the backoff from the bottom. */
  connected(): void {
    this.welcomed = true;
    this.failures = 0;
    this.backoff.reset();
  }

  /** Connections that ended since the peer last welcomed us (0 while up). */
  get failedInARow(): number {
    return this.failures;
  }
}
