// The link's cryptography against its test vectors (PROTOCOL.md), and the frame rules in isolation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../../relay/link/codec.js';
import { Reassembler, split } from '../../relay/link/fragments.js';
import { CLIENT_HELLO, SERVER_HELLO, decodeHello, deriveKeys, encodeHello } from '../../relay/link/handshake.js';
import { keyPairFromSecret } from '../../relay/link/keys.js';
import { SessionCipher } from '../../relay/link/session-cipher.js';
import { RelayError } from '../../relay/errors.js';

const v = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8')) as Record<string, string | number>;
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const kp = (fill: number) => keyPairFromSecret(new Uint8Array(32).fill(fill));

function session() {
  const cs = kp(v['client_static_secret_fill'] as number);
  const ce = kp(v['client_ephemeral_secret_fill'] as number);
  const ss = kp(v['server_static_secret_fill'] as number);
  const se = kp(v['server_ephemeral_secret_fill'] as number);
  const ch = encodeHello(CLIENT_HELLO, ce.publicKey, cs.publicKey);
  const sh = encodeHello(SERVER_HELLO, se.publicKey, ss.publicKey);
  return { cs, ce, ss, se, ch, sh, client: deriveKeys('client', cs, ce, ch, sh, decodeHello(sh, SERVER_HELLO)), server: deriveKeys('server', ss, se, ch, sh, decodeHello(ch, CLIENT_HELLO)) };
}

describe('link test vectors', () => {
  it('hellos, transcript hash and direction keys match the vectors, on both sides', () => {
    const s = session();
    assert.equal(hex(s.ch), v['client_hello']);
    assert.equal(hex(s.sh), v['server_hello']);
    assert.equal(hex(s.client.transcriptHash), v['transcript_hash']);
    assert.equal(hex(s.client.clientToServer), v['key_client_to_server']);
    assert.equal(hex(s.client.serverToClient), v['key_server_to_client']);
    assert.equal(hex(s.server.clientToServer), v['key_client_to_server']);
    assert.equal(hex(s.server.serverToClient), v['key_server_to_client']);
    assert.notEqual(v['key_client_to_server'], v['key_server_to_client']);
  });

  it('sealed frames match the vectors and open on the other side in order', () => {
    const s = session();
    const c = new SessionCipher(s.client.clientToServer, s.client.serverToClient);
    const f0 = c.seal(split(encodeMessage({ t: 'hello', v: 1, agent: 'imessage-relay/0.1.0', store: 'store-1', cmd_acked: 0 }), 1024)[0]!);
    const f1 = c.seal(split(encodeMessage({ t: 'ping', n: 1 }), 1024)[0]!);
    assert.equal(hex(f0), v['client_frame_0']);
    assert.equal(hex(f1), v['client_frame_1']);
    const server = new SessionCipher(s.server.serverToClient, s.server.clientToServer);
    assert.equal(hex(server.open(f0)!), v['client_frame_0_plaintext']);
    assert.ok(server.open(f1) !== null);
    assert.equal(hex(server.seal(split(encodeMessage({ t: 'welcome', v: 1, acked: 0, account: 'alice' }), 1024)[0]!)), v['server_frame_0']);
  });

  it('a different static key gives different keys (the handshake authenticates both ends)', () => {
    const s = session();
    const impostor = kp(9);
    const ch = encodeHello(CLIENT_HELLO, s.ce.publicKey, impostor.publicKey);
    const k = deriveKeys('client', impostor, s.ce, ch, s.sh, decodeHello(s.sh, SERVER_HELLO));
    const serverSide = deriveKeys('server', s.ss, s.se, ch, s.sh, decodeHello(ch, CLIENT_HELLO));
    assert.equal(hex(k.clientToServer), hex(serverSide.clientToServer), 'an honest server derives from what it was sent');
    const pretending = deriveKeys('client', impostor, s.ce, s.ch, s.sh, decodeHello(s.sh, SERVER_HELLO));
    assert.notEqual(hex(pretending.clientToServer), v['key_client_to_server'], 'without the real secret the keys differ');
  });
});

describe('frames', () => {
  const pair = () => {
    const key1 = new Uint8Array(32).fill(1);
    const key2 = new Uint8Array(32).fill(2);
    return { a: new SessionCipher(key1, key2), b: new SessionCipher(key2, key1) };
  };

  it('refuses replayed, reordered, tampered and truncated frames', () => {
    const { a, b } = pair();
    const f0 = a.seal(Buffer.from('zero'));
    const f1 = a.seal(Buffer.from('one'));
    assert.equal(b.open(f1), null, 'reordered');
    assert.equal(Buffer.from(b.open(f0)!).toString(), 'zero');
    assert.equal(b.open(f0), null, 'replayed');
    const t = Buffer.from(f1); t[5] = t[5]! ^ 1;
    assert.equal(b.open(t), null, 'tampered');
    assert.equal(b.open(f1.subarray(0, f1.length - 1)), null, 'truncated');
    assert.equal(Buffer.from(b.open(f1)!).toString(), 'one', 'the genuine frame still opens');
  });

  it('refuses a frame replayed 256 and 65,536 frames later (every byte of the counter is in the nonce)', () => {
    const { a, b } = pair();
    const sealed: Uint8Array[] = [];
    for (let i = 0; i <= 65_536; i++) sealed.push(a.seal(Buffer.from(`frame ${i}`)));
    for (let i = 0; i < 256; i++) assert.equal(Buffer.from(b.open(sealed[i]!)!).toString(), `frame ${i}`);
    assert.equal(b.open(sealed[0]!), null, 'frame 0 where frame 256 is due');
    assert.equal(b.open(sealed[1]!), null, 'frame 1 where frame 256 is due');
    for (let i = 256; i < 65_536; i++) assert.notEqual(b.open(sealed[i]!), null, `frame ${i}`);
    assert.equal(b.open(sealed[0]!), null, 'frame 0 where frame 65,536 is due');
    assert.equal(b.open(sealed[256]!), null, 'frame 256 where frame 65,536 is due');
    assert.equal(Buffer.from(b.open(sealed[65_536]!)!).toString(), 'frame 65536');
  });

  it('a frame that fails to open does not move the counter: the genuine next frame still opens', () => {
    const { a, b } = pair();
    const f0 = a.seal(Buffer.from('zero'));
    const bad = Buffer.from(f0); bad[0] = bad[0]! ^ 0x80;
    assert.equal(b.open(bad), null);
    assert.equal(b.open(new Uint8Array(15)), null, 'shorter than the tag');
    assert.equal(b.open(new Uint8Array(0)), null, 'empty');
    assert.equal(Buffer.from(b.open(f0)!).toString(), 'zero');
  });

  it('one key per direction: a frame cannot be reflected back to its sender', () => {
    const { a } = pair();
    const f0 = a.seal(Buffer.from('to b'));
    assert.equal(a.open(f0), null);
  });

  it('splits a message of exactly a multiple of the frame room into frames that join again', () => {
    for (const len of [999, 1998, 2997, 1000, 1]) {
      const msg = Buffer.alloc(len, 3);
      const frames = split(msg, 1000);
      assert.equal(frames.length, Math.ceil(len / 999), `${len} bytes`);
      assert.ok(frames.every((f) => f.length <= 1000));
      const r = new Reassembler(len);
      const outs = frames.map((f) => r.push(f));
      assert.ok(outs.slice(0, -1).every((x) => x === null), `${len}: only the last frame completes the message`);
      assert.ok(Buffer.from(outs.at(-1)!).equals(msg), `${len} bytes joined`);
    }
    const reused = new Reassembler(5000);
    for (let round = 0; round < 3; round++) {
      const out = split(Buffer.alloc(4000, round), 1000).map((f) => reused.push(f)).at(-1);
      assert.equal(out?.length, 4000, `message ${round} through the same reassembler (its size starts again at 0)`);
    }
    const exact = split(Buffer.alloc(5000, 1), 1000);
    const atLimit = new Reassembler(5000);
    assert.equal(exact.map((f) => atLimit.push(f)).at(-1)?.length, 5000, 'a message of exactly maxMessage bytes is accepted');
    const tooBig = new Reassembler(5000);
    assert.throws(() => split(Buffer.alloc(5001, 1), 1000).forEach((f) => tooBig.push(f)), /larger than 5000/);
  });

  it('refuses a whole frame inside a fragmented message and an unknown flag', () => {
    const r = new Reassembler(10_000);
    const parts = split(Buffer.alloc(3000, 1), 1000);
    r.push(parts[0]!);
    assert.throws(() => r.push(split(Buffer.from('x'), 1000)[0]!), /whole frame inside a fragmented message/);
    assert.throws(() => new Reassembler(100).push(Uint8Array.from([7, 1, 2])), /bad fragment flag 7/);
  });

  it('splits large messages into frames under the limit and joins them, refusing too-large messages', () => {
    const msg = Buffer.alloc(10_000, 7);
    const frames = split(msg, 1000);
    assert.ok(frames.length > 10 && frames.every((f) => f.length <= 1000));
    const r = new Reassembler(20_000);
    const outs = frames.map((f) => r.push(f));
    assert.ok(outs.slice(0, -1).every((x) => x === null));
    assert.ok(Buffer.from(outs.at(-1)!).equals(msg));
    const small = new Reassembler(5000);
    assert.throws(() => frames.forEach((f) => small.push(f)), /larger than 5000/);
  });

  it('refuses malformed messages with a coded error', () => {
    const item = { seq: 1, type: 'event', id: 'message:A', body: {} };
    const without = (k: string): string => JSON.stringify({ t: 'items', items: [Object.fromEntries(Object.entries(item).filter(([x]) => x !== k))] });
    const bads = [
      'not json', '{"t":"nope"}', '{"t":"ack","seq":-1}', '{"t":"ack","seq":1.5}', '{"t":"ack","seq":"1"}', '{"t":"items","items":[{"seq":1}]}', '[]', 'null',
      without('seq'), without('type'), without('id'), without('body'),
      JSON.stringify({ t: 'items', items: [{ ...item, type: 'evil' }] }), JSON.stringify({ t: 'items', items: [{ ...item, body: 'text' }] }),
      JSON.stringify({ t: 'items', items: [{ ...item, seq: -1 }] }), JSON.stringify({ t: 'items', items: {} }),
      JSON.stringify({ t: 'commands', items: [{ seq: 1, id: 'c', body: [] }] }), JSON.stringify({ t: 'commands', items: [{ seq: 1, body: {} }] }),
      '{"t":"hello","v":1,"agent":"a","store":"s"}', '{"t":"welcome","v":1,"acked":0}', '{"t":"ping"}', '{"t":"bye"}', '{"t":"cmd_ack","seq":-2}',
    ];
    assert.deepEqual(decodeMessage(Buffer.from(JSON.stringify({ t: 'items', items: [item] }))), { t: 'items', items: [item] }, 'the complete item is accepted');
    assert.throws(() => decodeMessage(Uint8Array.from([0x7b, 0xff, 0x7d])), (e: unknown) => e instanceof RelayError && e.code === 'LINK_BAD_MESSAGE', 'invalid UTF-8');
    for (const bad of bads) {
      assert.throws(() => decodeMessage(Buffer.from(bad)), (e: unknown) => e instanceof RelayError && e.code === 'LINK_BAD_MESSAGE', bad);
    }
    assert.deepEqual(decodeMessage(encodeMessage({ t: 'ack', seq: 5 })), { t: 'ack', seq: 5 });
  });

  it('refuses a hello from another protocol version or of the wrong shape', () => {
    const h = encodeHello(CLIENT_HELLO, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
    for (const version of [0, 2, 255]) {
      const other = Buffer.from(h); other[3] = version;
      assert.throws(() => decodeHello(other, CLIENT_HELLO), (e: unknown) => e instanceof RelayError && e.code === 'LINK_VERSION', `version ${version}`);
    }
    assert.throws(() => decodeHello(h.subarray(0, 40), CLIENT_HELLO), /not an imessage-relay hello/);
    assert.throws(() => decodeHello(h, SERVER_HELLO), /unexpected hello type/);
    const magic = Buffer.from(h); magic[0] = 0x58;
    assert.throws(() => decodeHello(magic, CLIENT_HELLO), /not an imessage-relay hello/);
    assert.throws(() => decodeHello(Buffer.concat([h, Buffer.from([0])]), CLIENT_HELLO), /not an imessage-relay hello/);
    assert.deepEqual(decodeHello(h, CLIENT_HELLO), { type: CLIENT_HELLO, version: 1, ephemeral: new Uint8Array(32).fill(1), static: new Uint8Array(32).fill(2) });
  });

  it('refuses a low-order (all-zero) public key in a hello instead of deriving keys from it', () => {
    const s = session();
    const zero = encodeHello(SERVER_HELLO, new Uint8Array(32), s.ss.publicKey);
    assert.throws(() => deriveKeys('client', s.cs, s.ce, s.ch, zero, decodeHello(zero, SERVER_HELLO)), (e: unknown) => e instanceof RelayError && e.code === 'LINK_PROTOCOL' && /low-order/.test(e.message));
    const zeroStatic = encodeHello(CLIENT_HELLO, s.ce.publicKey, new Uint8Array(32));
    assert.throws(() => deriveKeys('server', s.ss, s.se, zeroStatic, s.sh, decodeHello(zeroStatic, CLIENT_HELLO)), /low-order/);
  });
});

describe('items encoding', () => {
  it('splices stored JSON bodies into exactly the bytes encodeMessage would write', async () => {
    const { encodeItems } = await import('../../relay/link/codec.js');
    const items = [{ seq: 1, type: 'event' as const, id: 'message:A"\\', body: { kind: 'message', text: 'quote " backslash \\ emoji 👋 \u2028' } },
      { seq: 2, type: 'result' as const, id: 'cmd:sent', body: { status: 'sent', n: [1, 2] } }];
    const spliced = encodeItems(items.map((i) => ({ ...i, body: JSON.stringify(i.body) })));
    assert.deepEqual(Buffer.from(spliced), Buffer.from(encodeMessage({ t: 'items', items })));
    assert.deepEqual(decodeMessage(spliced), { t: 'items', items });
  });
});
