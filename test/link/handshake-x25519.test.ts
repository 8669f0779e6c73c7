// The handshake's X25519 (OpenSSL's) against tweetnacl's and the low-order points: the same keys,
// and every low-order ephemeral key refused with LINK_PROTOCOL on both sides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { RelayError } from '../../relay/errors.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello, ephemeralKeyPair } from '../../relay/link/handshake.js';
import { generateKeyPair } from '../../relay/link/keys.js';
import { LOW_ORDER_HEX } from '../support/x25519-low-order.js';

describe('handshake X25519', () => {
  it('an ephemeral key pair is an X25519 pair, and both sides derive the same keys as with tweetnacl keys', () => {
    for (let i = 0; i < 20; i++) {
      const eph = ephemeralKeyPair();
      assert.deepEqual(Buffer.from(nacl.scalarMult.base(eph.secretKey)), Buffer.from(eph.publicKey));
      const hub = generateKeyPair();
      const relay = generateKeyPair();
      const hubEph = i % 2 === 0 ? ephemeralKeyPair() : generateKeyPair();
      const ch = encodeHello(CLIENT_HELLO, eph.publicKey, relay.publicKey);
      const sh = encodeHello(SERVER_HELLO, hubEph.publicKey, hub.publicKey);
      const c = deriveKeys('client', relay, eph, ch, sh, decodeHello(sh, SERVER_HELLO));
      const s = deriveKeys('server', hub, hubEph, ch, sh, decodeHello(ch, CLIENT_HELLO));
      assert.deepEqual(c, s);
    }
  });

  it('every low-order ephemeral key from the peer is refused with LINK_PROTOCOL, on both sides', () => {
    const hub = generateKeyPair();
    const relay = generateKeyPair();
    for (const hex of LOW_ORDER_HEX) {
      const bad = new Uint8Array(Buffer.from(hex, 'hex'));
      const eph = ephemeralKeyPair();
      const ch = encodeHello(CLIENT_HELLO, eph.publicKey, relay.publicKey);
      const sh = encodeHello(SERVER_HELLO, bad, hub.publicKey);
      const refused = (err: unknown): boolean => err instanceof RelayError && err.code === 'LINK_PROTOCOL' && /low-order/.test(err.message);
      assert.throws(() => deriveKeys('client', relay, eph, ch, sh, decodeHello(sh, SERVER_HELLO)), refused, hex);
      const ch2 = encodeHello(CLIENT_HELLO, bad, relay.publicKey);
      assert.throws(() => deriveKeys('server', hub, ephemeralKeyPair(), ch2, sh, decodeHello(ch2, CLIENT_HELLO)), refused, hex);
    }
  });
});
