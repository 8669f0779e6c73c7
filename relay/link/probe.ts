// One real link handshake for `imessage-relay doctor`: dial the hub once with the relay's key, check
// the hub's key against the pinned one, say hello sealed and wait for `welcome`, then leave. No
// redial, no items, no commands (the hello's cmd_acked asks for none).
import WebSocket from 'ws';
import { systemClock } from '../clock.js';
import { DEFAULT_CHANNEL_OPTIONS, SealedChannel } from './channel.js';
import { CloseCode, closeReason } from './close-codes.js';
import { CLIENT_HELLO, PROTOCOL_VERSION, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from './handshake.js';
import { fingerprint, generateKeyPair, type KeyPair } from './keys.js';
import { SessionCipher } from './session-cipher.js';

/** Who we are, which hub we pin, and what to say hello with. */
export interface LinkProbeDeps {
  readonly url: string;
  readonly keys: KeyPair;
  readonly hubPublicKey: Uint8Array;
  /**
   * The relay store's id (relay.db), so the hub keeps what it acknowledged: a hello with another id
   * tells the hub the relay's outbox started over.
   */
  readonly storeId: string;
  readonly agent: string;
  /** For the whole probe, from dialling to `welcome` (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * How the probe ended. `stage`: `connect` (no WebSocket: refused, unreachable, not a WebSocket
 * server), `refused` (the hub closed the connection, `code` says why: 4003 unknown relay key, 1013
 * try later, …), `wrong-key` (the hub presented a key that is not the pinned one), `timeout`, `protocol`.
 */
export type LinkProbeResult =
  | { readonly ok: true; readonly account: string; readonly acked: number; readonly ms: number; readonly hubFingerprint: string }
  | { readonly ok: false; readonly stage: 'connect' | 'refused' | 'wrong-key' | 'timeout' | 'protocol'; readonly code: number | null; readonly reason: string };

/** Dials once and reports; never throws. */
export function probeLink(deps: LinkProbeDeps): Promise<LinkProbeResult> {
  const started = Date.now();
  const timeoutMs = deps.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    let done = false;
    let channel: SealedChannel | null = null;
    const ws = new WebSocket(deps.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: DEFAULT_CHANNEL_OPTIONS.maxFrameBytes });
    const finish = (r: LinkProbeResult, code: number = CloseCode.Normal, why = 'doctor done'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (channel !== null) channel.close(code, why);
      else if (ws.readyState === WebSocket.OPEN) ws.close(code, why);
      else ws.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, stage: 'timeout', code: null, reason: `no welcome from the hub within ${timeoutMs} ms` }), timeoutMs);
    const ephemeral = generateKeyPair();
    const clientHello = encodeHello(CLIENT_HELLO, ephemeral.publicKey, deps.keys.publicKey);
    ws.on('error', (err) => finish({ ok: false, stage: 'connect', code: null, reason: (err as NodeJS.ErrnoException).code ?? err.message }));
    ws.on('unexpected-response', (_req, res) => finish({ ok: false, stage: 'connect', code: null, reason: `HTTP ${res.statusCode} instead of a WebSocket` }));
    ws.on('close', (code, reason) => finish({ ok: false, stage: 'refused', code, reason: reason.toString() || closeReason(code) }));
    ws.on('open', () => ws.send(clientHello, { binary: true }));
    ws.once('message', (data, isBinary) => {
      let hello;
      try {
        if (!isBinary) throw new Error('text frame before the handshake');
        hello = decodeHello(data as Buffer, SERVER_HELLO);
      } catch (err) {
        finish({ ok: false, stage: 'protocol', code: null, reason: `bad hello from the hub: ${(err as Error).message}` }, CloseCode.Protocol, 'bad hello');
        return;
      }
      if (Buffer.compare(Buffer.from(hello.static), Buffer.from(deps.hubPublicKey)) !== 0) {
        finish({ ok: false, stage: 'wrong-key', code: CloseCode.WrongServerKey,
          reason: `the hub presented the key ${fingerprint(hello.static)}, not the pinned ${fingerprint(deps.hubPublicKey)}` }, CloseCode.WrongServerKey, 'wrong hub key');
        return;
      }
      const keys = deriveKeys('client', deps.keys, ephemeral, clientHello, Buffer.from(data as Buffer), hello);
      ws.removeAllListeners('close');
      channel = new SealedChannel(ws, new SessionCipher(keys.clientToServer, keys.serverToClient), systemClock, DEFAULT_CHANNEL_OPTIONS);
      channel.attach({
        message: (m) => {
          if (m.t === 'welcome') {
            channel?.send({ t: 'bye', reason: 'doctor done' });
            finish({ ok: true, account: m.account, acked: m.acked, ms: Date.now() - started, hubFingerprint: fingerprint(hello.static) });
          }
        },
        close: (code, why) => finish({ ok: false, stage: 'refused', code, reason: why || closeReason(code) }),
      });
      // cmd_acked at the largest seq: the hub sends this session no command (they wait for the relay).
      channel.send({ t: 'hello', v: PROTOCOL_VERSION, agent: deps.agent, store: deps.storeId, cmd_acked: Number.MAX_SAFE_INTEGER });
    });
  });
}
