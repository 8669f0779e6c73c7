// The hub's side of the link: a WebSocket server that runs the handshake, refuses keys it does not
// know (logging their fingerprint), and hands each authenticated connection over as a sealed
// channel with the relay's identity. Many relays at once, one channel per relay key.
import type { AddressInfo } from 'node:net';
import { listenError } from '../errors.js';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { SealedChannel, type ChannelOptions } from './channel.js';
import { CloseCode } from './close-codes.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from './handshake.js';
import { fingerprint, generateKeyPair, type KeyPair } from './keys.js';
import { SessionCipher } from './session-cipher.js';

export interface RelayIdentity {
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  /** The account name configured for this key (one Apple ID per relay). */
  readonly account: string;
}

export interface LinkServerDeps {
  readonly host: string;
  readonly port: number;
  readonly keys: KeyPair;
  /** Pinned relay keys: base64 public key → account. */
  readonly relays: ReadonlyMap<string, string>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly channel: ChannelOptions;
  readonly handshakeTimeoutMs?: number;
  readonly onChannel: (channel: SealedChannel, relay: RelayIdentity) => void;
  /** Told of every refused connection (for metrics). */
  readonly onRefused?: (reason: string) => void;
}

export class LinkServer {
  private wss: WebSocketServer | null = null;

  constructor(private readonly deps: LinkServerDeps) {}

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

  private refuse(ws: WebSocket, code: number, reason: string, log: Record<string, unknown>): void {
    this.deps.logger.warn({ ...log, code }, `link: refused a connection: ${reason}`);
    this.deps.onRefused?.(reason);
    ws.close(code, reason.slice(0, 120));
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  private onConnection(ws: WebSocket, remote: string): void {
    const timer = setTimeout(() => this.refuse(ws, CloseCode.HandshakeTimeout, 'no hello in time', { remote }),
      this.deps.handshakeTimeoutMs ?? 10_000);
    timer.unref();
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      const bytes = data as Buffer;
      let hello;
      try {
        if (!isBinary) throw new Error('text frame before the handshake');
        hello = decodeHello(bytes, CLIENT_HELLO);
      } catch (err) {
        this.refuse(ws, CloseCode.Protocol, `bad hello: ${(err as Error).message}`, { remote, bytes: bytes.length });
        return;
      }
      const key = Buffer.from(hello.static).toString('base64');
      const account = this.deps.relays.get(key);
      if (account === undefined) {
        this.refuse(ws, CloseCode.UnknownKey, 'unknown relay key', { remote, fingerprint: fingerprint(hello.static) });
        return;
      }
      const ephemeral = generateKeyPair();
      const serverHello = encodeHello(SERVER_HELLO, ephemeral.publicKey, this.deps.keys.publicKey);
      let keys;
      try {
        keys = deriveKeys('server', this.deps.keys, ephemeral, Buffer.from(bytes), serverHello, hello);
      } catch (err) {
        this.refuse(ws, CloseCode.Protocol, (err as Error).message, { remote });
        return;
      }
      ws.send(serverHello, { binary: true });
      const channel = new SealedChannel(ws, new SessionCipher(keys.serverToClient, keys.clientToServer), this.deps.clock, this.deps.channel);
      this.deps.onChannel(channel, { publicKey: hello.static, fingerprint: fingerprint(hello.static), account });
    });
  }
}
