// The hub's side of the link: a WebSocket server that runs the handshake, refuses keys it does not
// know (logging their fingerprint) and peers over its rate limits, and hands each connection over as
// a sealed channel; the relay's identity counts only once its first sealed frame opens (proof of key).
import type { AddressInfo } from 'node:net';
import { listenError } from '../errors.js';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { SealedChannel, type ChannelOptions } from './channel.js';
import { CloseCode } from './close-codes.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from './handshake.js';
import { DEFAULT_HANDSHAKE_LIMITS, HandshakeLimiter, type HandshakeLimits } from './handshake-limiter.js';
import { fingerprint, generateKeyPair, type KeyPair } from './keys.js';
import { LogThrottle } from './log-throttle.js';
import { SessionCipher } from './session-cipher.js';

export interface RelayIdentity {
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  /** The account name configured for this key (one Apple ID per relay). */
  readonly account: string;
}

/**
 * How a connection's handshake went: `answered` (ServerHello sent), then `proven` (its first sealed
 * frame opened) or `unproven` (closed before that); or `refused` / `limited` before any answer.
 */
export type HandshakeResult = 'answered' | 'proven' | 'unproven' | 'refused' | 'limited';

export interface LinkServerDeps {
  readonly host: string;
  readonly port: number;
  readonly keys: KeyPair;
  /** Pinned relay keys: base64 public key → account. */
  readonly relays: ReadonlyMap<string, string>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly channel: ChannelOptions;
  /** From the connection's opening to its first sealed frame (default 10 s); then closed with 4009. */
  readonly handshakeTimeoutMs?: number;
  /** Per source address and per pinned key (default DEFAULT_HANDSHAKE_LIMITS). */
  readonly limits?: HandshakeLimits;
  /**
   * A handshake answered: the channel and the identity its peer *claims* (a public key is no secret).
   * Nothing may be attributed to that relay before `onProven`.
   */
  readonly onChannel?: (channel: SealedChannel, relay: RelayIdentity) => void;
  /**
   * The peer's first sealed frame opened: it holds the relay's secret key. Called before that frame's
   * message is delivered, so a handler attached here receives it.
   */
  readonly onProven?: (channel: SealedChannel, relay: RelayIdentity) => void;
  /** Told of every refused connection (for metrics). */
  readonly onRefused?: (reason: string) => void;
  /** Told of each step of each handshake (for metrics). */
  readonly onHandshake?: (result: HandshakeResult) => void;
}

/** The receive side notices the first frame that opens: the peer's proof of its static key. */
class ProvingCipher extends SessionCipher {
  private proven = false;

  constructor(sendKey: Uint8Array, recvKey: Uint8Array, private readonly onProof: () => void) {
    super(sendKey, recvKey);
  }

  override open(sealed: Uint8Array): Uint8Array | null {
    const plain = super.open(sealed);
    if (plain !== null && !this.proven) {
      this.proven = true;
      this.onProof();
    }
    return plain;
  }
}

export class LinkServer {
  private wss: WebSocketServer | null = null;
  private readonly limiter: HandshakeLimiter;
  private readonly throttle: LogThrottle;

  constructor(private readonly deps: LinkServerDeps) {
    this.limiter = new HandshakeLimiter({ clock: deps.clock, limits: deps.limits ?? DEFAULT_HANDSHAKE_LIMITS });
    this.throttle = new LogThrottle({ clock: deps.clock });
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    const wss = new WebSocketServer({
      host: this.deps.host, port: this.deps.port, perMessageDeflate: false,
      maxPayload: this.deps.channel.maxFrameBytes,
    });
    this.wss = wss;
    wss.on('connection', (ws, req) => this.onConnection(ws, req.socket.remoteAddress ?? '?'));
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', (err) => reject(listenError(err, 'link', this.deps.host, this.deps.port)));
    });
    wss.on('error', (err) => this.deps.logger.error({ err: err.message }, 'link server error'));
    return (wss.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const wss = this.wss;
    if (wss === null) return;
    this.wss = null;
    for (const c of wss.clients) c.close(CloseCode.GoingAway, 'hub shutting down');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    for (const c of wss.clients) c.terminate();
  }

  /** A warning, at most a few a minute per kind; the next one written says how many were held back. */
  private warn(kind: string, fields: Record<string, unknown>, msg: string): void {
    const held = this.throttle.take(kind);
    if (held === null) return;
    this.deps.logger.warn(held > 0 ? { ...fields, suppressed: held } : fields, msg);
  }

  private refuse(ws: WebSocket, code: number, reason: string, log: Record<string, unknown>, result: 'refused' | 'limited' = 'refused'): void {
    this.warn(reason.split(':')[0]!, { ...log, code }, `link: refused a connection: ${reason}`);
    this.deps.onRefused?.(reason);
    this.deps.onHandshake?.(result);
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      ws.terminate();
    }
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  private onConnection(ws: WebSocket, remote: string): void {
    // From its first moment to its last: a malformed frame makes ws emit 'error', and an 'error'
    // without a listener would end the process.
    ws.on('error', (err) => this.warn('socket error', { remote, err: err.message }, 'link: connection error'));
    try {
      if (!this.limiter.allowAddress(remote)) {
        this.refuse(ws, CloseCode.TryLater, 'too many handshakes from this address', { remote }, 'limited');
        return;
      }
      const conn: Pending = { ws, remote, channel: null, timer: null };
      conn.timer = setTimeout(() => {
        if (conn.channel === null) this.refuse(ws, CloseCode.HandshakeTimeout, 'no hello in time', { remote });
        else conn.channel.close(CloseCode.HandshakeTimeout, 'no sealed frame in time');
      }, this.deps.handshakeTimeoutMs ?? 10_000);
      conn.timer.unref();
      ws.once('close', () => clearTimeout(conn.timer!));
      ws.once('message', (data, isBinary) => {
        try {
          this.onHello(conn, data, isBinary);
        } catch (err) {
          clearTimeout(conn.timer!);
          if (conn.channel === null) this.refuse(ws, CloseCode.Protocol, `handshake failed: ${(err as Error).message}`, { remote });
          else conn.channel.close(CloseCode.GoingAway, 'hub failure');
        }
      });
    } catch (err) {
      this.refuse(ws, CloseCode.Protocol, `handshake failed: ${(err as Error).message}`, { remote });
    }
  }

  private onHello(conn: Pending, data: WebSocket.RawData, isBinary: boolean): void {
    const { ws, remote } = conn;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const refuse = (code: number, reason: string, log: Record<string, unknown>, result?: 'limited'): void => {
      clearTimeout(conn.timer!);
      this.refuse(ws, code, reason, { remote, ...log }, result);
    };
    let hello;
    try {
      if (!isBinary) throw new Error('text frame before the handshake');
      hello = decodeHello(bytes, CLIENT_HELLO);
    } catch (err) {
      refuse(CloseCode.Protocol, `bad hello: ${(err as Error).message}`, { bytes: bytes.length });
      return;
    }
    const key = Buffer.from(hello.static).toString('base64');
    const account = this.deps.relays.get(key);
    if (account === undefined) {
      refuse(CloseCode.UnknownKey, 'unknown relay key', { fingerprint: fingerprint(hello.static) });
      return;
    }
    const relay: RelayIdentity = { publicKey: hello.static, fingerprint: fingerprint(hello.static), account };
    if (!this.limiter.allowKey(key)) {
      refuse(CloseCode.TryLater, 'too many handshakes with this key', { fingerprint: relay.fingerprint }, 'limited');
      return;
    }
    const ephemeral = generateKeyPair();
    const serverHello = encodeHello(SERVER_HELLO, ephemeral.publicKey, this.deps.keys.publicKey);
    let keys;
    try {
      keys = deriveKeys('server', this.deps.keys, ephemeral, bytes, serverHello, hello);
    } catch (err) {
      refuse(CloseCode.Protocol, `bad hello: ${(err as Error).message}`, {});
      return;
    }
    let proven = false;
    const cipher = new ProvingCipher(keys.serverToClient, keys.clientToServer, () => {
      proven = true;
      clearTimeout(conn.timer!);
      this.deps.onHandshake?.('proven');
      const channel = conn.channel!;
      try {
        this.deps.onProven?.(channel, relay);
      } catch (err) {
        this.deps.logger.error({ account, err: (err as Error).message }, 'link: taking over a proven connection failed');
        channel.close(CloseCode.GoingAway, 'hub failure');
      }
    });
    ws.send(serverHello, { binary: true });
    this.deps.onHandshake?.('answered');
    const channel = new SealedChannel(ws, cipher, this.deps.clock, this.deps.channel);
    conn.channel = channel;
    channel.onClosed((code, why) => {
      if (proven) return;
      clearTimeout(conn.timer!);
      this.deps.onHandshake?.('unproven');
      this.warn('unproven', { remote, fingerprint: relay.fingerprint, code, why }, 'link: connection closed before the peer proved its key');
    });
    this.deps.onChannel?.(channel, relay);
  }
}

/** A connection between its opening and its peer's proof of key. */
interface Pending {
  readonly ws: WebSocket;
  readonly remote: string;
  channel: SealedChannel | null;
  timer: NodeJS.Timeout | null;
}
