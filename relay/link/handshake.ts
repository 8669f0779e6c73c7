// The link handshake (PROTOCOL.md §2): two plaintext hellos carrying ephemeral and static X25519
// keys, then one key per direction from three DH results and the transcript (HKDF-SHA-256).
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
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

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
/** Secret keys already imported into OpenSSL (the static key, each ephemeral): importing costs more than the DH. */
const imported = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(secret: Uint8Array): KeyObject {
  let k = imported.get(secret);
  if (k === undefined) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' });
    imported.set(secret, k);
  }
  return k;
}

/**
 * A fresh ephemeral X25519 key pair for one handshake, made by OpenSSL (0.3 ms here against 2–4 ms
 * for tweetnacl's scalar multiplication in JavaScript); its secret stays imported for `deriveKeys`.
 */
export function ephemeralKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const secretKey = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_X25519.length));
  imported.set(secretKey, privateKey);
  return { secretKey, publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length)) };
}

/**
 * X25519 (RFC 7748, OpenSSL's): the same function as nacl.scalarMult, checked against the test
 * vectors. A low-order point from the peer gives an all-zero result, which OpenSSL refuses; the
 * result is checked again here, in constant time.
 * @throws RelayError LINK_PROTOCOL for a low-order public key.
 */
function dh(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  let out: Buffer;
  try {
    out = diffieHellman({ privateKey: privateKeyObject(secret), publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519, pub]), format: 'der', type: 'spki' }) });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_OSSL_FAILED_DURING_DERIVATION') throw new RelayError('LINK_PROTOCOL', 'low-order public key');
    throw new RelayError('LINK_PROTOCOL', `X25519 failed: ${(err as Error).message}`);
  }
  let any = 0;
  for (const x of out) any |= x;
  if (any === 0) throw new RelayError('LINK_PROTOCOL', 'low-order public key');
  return new Uint8Array(out);
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
