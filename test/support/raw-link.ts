// A hand-driven link client for attack tests: does the real handshake, then lets the test send
// sealed frames of its choosing (replayed, reordered, tampered, truncated, oversized) or raw bytes.
import WebSocket from 'ws';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from '../../relay/link/handshake.js';
import { generateKeyPair, type KeyPair } from '../../relay/link/keys.js';
import { SessionCipher } from '../../relay/link/session-cipher.js';
import { encodeMessage, decodeMessage, type LinkMessage } from '../../relay/link/codec.js';
import { split } from '../../relay/link/fragments.js';

export interface RawLink {
  readonly ws: WebSocket;
  readonly received: LinkMessage[];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Seals a message as the next frame (without sending it). */
  seal(m: LinkMessage): Buffer;
  send(frame: Buffer | string): void;
}

export function openRaw(url: string): { ws: WebSocket; closed: Promise<{ code: number; reason: string }> } {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, closed };
}

/** Connects and completes the handshake with `keys` (which the hub may or may not know). */
export async function rawLink(url: string, keys: KeyPair): Promise<RawLink> {
  const { ws, closed } = openRaw(url);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const eph = generateKeyPair();
  const hello = encodeHello(CLIENT_HELLO, eph.publicKey, keys.publicKey);
  ws.send(hello);
  const received: LinkMessage[] = [];
  const serverHello = await Promise.race([
    new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer))),
    closed.then(() => null),
  ]);
  if (serverHello === null) return { ws, received, closed, seal: () => { throw new Error('refused'); }, send: () => undefined };
  const sh = decodeHello(serverHello, SERVER_HELLO);
  const k = deriveKeys('client', keys, eph, hello, serverHello, sh);
  const cipher = new SessionCipher(k.clientToServer, k.serverToClient);
  ws.on('message', (d) => {
    const plain = cipher.open(d as Buffer);
    if (plain !== null) received.push(decodeMessage(plain.subarray(1)));
  });
  return {
    ws, received, closed,
    seal: (m) => Buffer.from(cipher.seal(split(encodeMessage(m), 1 << 30)[0]!)),
    send: (frame) => ws.send(frame, { binary: typeof frame !== 'string' }),
  };
}
