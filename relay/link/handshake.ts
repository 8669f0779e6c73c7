// The link handshake (PROTOCOL.md §2): two plaintext hellos carrying ephemeral and static X25519
// keys, then one key per direction from three DH results and the transcript (HKDF-SHA-256).
import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import nacl from 'tweetnacl';
import { RelayError } from '../errors.js';
import type { KeyPair } from './keys.js';

export const PROTOCOL_VERSION = 1;
const MAGIC = Buffer.from('IMR', 'ascii');
export const HELLO_BYTES = 3 + 1 + 1 + 32 + 32;
export const CLIENT_HELLO = 1;
export const SERVER_HELLO = 2;
const LABEL = Buffer.from('imessage-relay link v1', 'ascii');

export interface Hello {
  readonly type: number;
  readonly version: number;
  readonly ephemeral: Uint8Array;
  readonly static: Uint8Array;
}

export interface SessionKeys {
  /** Key for frames the client sends (server receives). */
  readonly clientToServer: Uint8Array;
  readonly serverToClient: Uint8Array;
  /** SHA-256 of the transcript: both sides know it; shown in test vectors. */
  readonly transcriptHash: Uint8Array;
}

/** Encodes a hello: "IMR" | version | type | ephemeral public key | static public key. */
export function encodeHello(type: number, ephemeral: Uint8Array, staticKey: Uint8Array): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([PROTOCOL_VERSION, type]), ephemeral, staticKey]);
}

/**
 * Decodes a hello of the expected type.
 * @throws RelayError LINK_PROTOCOL on anything else (garbage, wrong version, wrong length).
 */
export function decodeHello(b: Uint8Array, expectedType: number): Hello {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length !== HELLO_BYTES || !buf.subarray(0, 3).equals(MAGIC)) {
    throw new RelayError('LINK_PROTOCOL', `not an imessage-relay hello (${buf.length} bytes)`);
  }
  const version = buf[3]!;
  if (version !== PROTOCOL_VERSION) {
    throw new RelayError('LINK_VERSION', `peer speaks link protocol ${version}, this side speaks ${PROTOCOL_VERSION}`, { version });
  }
  if (buf[4] !== expectedType) throw new RelayError('LINK_PROTOCOL', `unexpected hello type ${buf[4]}`);
  return { type: buf[4]!, version, ephemeral: new Uint8Array(buf.subarray(5, 37)), static: new Uint8Array(buf.subarray(37, 69)) };
}

/** Whether two public keys are the same, in constant time. */
export function samePublicKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** X25519; an all-zero result (the peer sent a low-order point) is refused, checked in constant time. */
function dh(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  const out = nacl.scalarMult(secret, pub);
  let any = 0;
  for (const x of out) any |= x;
  if (any === 0) throw new RelayError('LINK_PROTOCOL', 'low-order public key');
  return out;
}

/**
 * Derives the session keys. The client passes (its static, its ephemeral, server hello); the server
 * (its static, its ephemeral, client hello). Only holders of both static secrets reach the same keys.
 */
export function deriveKeys(role: 'client' | 'server', self: KeyPair, ephemeral: KeyPair, clientHello: Buffer, serverHello: Buffer, peer: Hello): SessionKeys {
  const ee = dh(ephemeral.secretKey, peer.ephemeral);
  // se = DH(client static, server ephemeral); es = DH(client ephemeral, server static)
  const se = role === 'client' ? dh(self.secretKey, peer.ephemeral) : dh(ephemeral.secretKey, peer.static);
  const es = role === 'client' ? dh(ephemeral.secretKey, peer.static) : dh(self.secretKey, peer.ephemeral);
  const transcriptHash = createHash('sha256').update(LABEL).update(clientHello).update(serverHello).digest();
  const okm = Buffer.from(hkdfSync('sha256', Buffer.concat([ee, se, es]), transcriptHash, LABEL, 64));
  return {
    clientToServer: new Uint8Array(okm.subarray(0, 32)),
    serverToClient: new Uint8Array(okm.subarray(32, 64)),
    transcriptHash: new Uint8Array(transcriptHash),
  };
}
