// The Mac daemon (a real child process) dialling a hostile server instead of its hub: every broken
// handshake, HTTP answer and WebSocket frame closes that connection, shows on /health with its
// reason and is followed by a redial with backoff; the process never exits, and once the real hub
// answers again the relay links up and delivers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from '../../relay/link/keys.js';
import { waitFor } from '../support/chatdb-env.js';
import { Op, sealMessage, upgradeResponse, type FakeConnection, type ServerSession } from '../support/fake-hub-server.js';
import { HostileHub } from '../support/hostile-hub.js';
import { ALICE, DM } from '../support/relay-env.js';

interface Case {
  readonly name: string;
  /** Plays the hostile server on one connection (it has not answered the upgrade yet). */
  readonly run: (c: FakeConnection, h: HostileHub) => Promise<void>;
  /** The close code the daemon sends, when it gets as far as sending one. */
  readonly sends?: number;
  /** What /health then says about the link. */
  readonly reason: RegExp;
  /** The case welcomes the daemon first (its run of failures starts again). */
  readonly welcomes?: boolean;
}

/** Upgrades, reads the ClientHello and answers with `mutate(a good ServerHello)`. */
const hello = (mutate: (h: Buffer) => Buffer | string) => async (c: FakeConnection, h: HostileHub): Promise<void> => {
  await c.upgrade();
  await c.handshake(h.hubKeys, (good) => {
    const bad = mutate(Buffer.from(good));
    c.send({ opcode: typeof bad === 'string' ? Op.Text : Op.Binary, payload: Buffer.from(bad) });
  });
};
const withEphemeral = (hex: string) => hello((h) => { Buffer.from(hex, 'hex').copy(h, 5); return h; });
/** Upgrades and writes raw bytes where the ServerHello should be. */
const raw = (bytes: Buffer) => async (c: FakeConnection): Promise<void> => {
  await c.upgrade();
  await c.clientHello();
  c.write(bytes);
};
/** A good handshake and welcome, then `then` with the session. */
const welcomed = (then: (c: FakeConnection, s: ServerSession) => void) => async (c: FakeConnection, h: HostileHub): Promise<void> => {
  await c.upgrade();
  const s = await c.handshake(h.hubKeys);
  assert.ok(await c.nextData(), 'the daemon says its sealed hello');
  c.sendBinary(sealMessage(s.cipher, { t: 'welcome', v: 1, acked: 0, account: 'alice' }));
  then(c, s);
};

const CASES: Case[] = [
  { name: 'an all-zero (low-order) ephemeral key', run: withEphemeral('00'.repeat(32)), sends: 4001, reason: /bad hello from the hub: low-order public key \(4001\)$/ },
  { name: 'the low-order point u = 1', run: withEphemeral(`01${'00'.repeat(31)}`), sends: 4001, reason: /low-order public key \(4001\)$/ },
  { name: 'a low-order point of order 8', run: withEphemeral('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'), sends: 4001, reason: /low-order public key \(4001\)$/ },
  { name: 'a hello one byte short', run: hello((h) => h.subarray(0, 68)), sends: 4001, reason: /not an imessage-relay hello \(68 bytes\) \(4001\)$/ },
  { name: 'a hello one byte long', run: hello((h) => Buffer.concat([h, Buffer.from([0])])), sends: 4001, reason: /not an imessage-relay hello \(70 bytes\) \(4001\)$/ },
  { name: 'bad magic', run: hello((h) => { h[0] = 0x58; return h; }), sends: 4001, reason: /not an imessage-relay hello \(69 bytes\) \(4001\)$/ },
  { name: 'another protocol version', run: hello((h) => { h[3] = 2; return h; }), sends: 4001, reason: /peer speaks link protocol 2, this side speaks 1 \(4001\)$/ },
  { name: 'a client hello sent back', run: hello((h) => { h[4] = 1; return h; }), sends: 4001, reason: /unexpected hello type 1 \(4001\)$/ },
  { name: 'garbage of a hello\'s length', run: hello(() => randomBytes(69)), sends: 4001, reason: /not an imessage-relay hello \(69 bytes\) \(4001\)$/ },
  { name: 'the hello as a text frame', run: hello((h) => h.toString('latin1')), sends: 4001, reason: /bad hello from the hub: a text frame \(4001\)$/ },
  { name: 'a hub key that is not the pinned one', run: hello((h) => { Buffer.from(generateKeyPair().publicKey).copy(h, 37); return h; }), sends: 4004, reason: /the hub presented a key that is not the pinned one \([0-9a-f]{4}(:[0-9a-f]{4}){3}\) \(4004\)$/ },
  { name: 'a close before any HTTP answer', run: async (c) => { await c.request(); c.destroy(); }, reason: /socket hang up \(1006\)$/ },
  { name: 'not HTTP at all', run: async (c) => { await c.request(); c.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'); }, reason: /Parse Error.* \(1006\)$/ },
  { name: 'HTTP 200 instead of 101', run: async (c) => { await c.request(); c.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'); }, reason: /Unexpected server response: 200 \(1006\)$/ },
  { name: 'a wrong Sec-WebSocket-Accept', run: async (c) => { await c.request(); c.write(upgradeResponse('AAAAAAAAAAAAAAAAAAAAAA==')); }, reason: /Invalid Sec-WebSocket-Accept header \(1006\)$/ },
  { name: 'a close right after the upgrade', run: async (c) => { await c.upgrade(); await c.clientHello(); c.destroy(); }, reason: /connection dropped before the handshake finished \(1006\)$/ },
  { name: 'half a hello, then a close', run: async (c) => { await c.upgrade(); await c.clientHello(); c.write(Buffer.from([0x82, 69, 0x49, 0x4d])); c.destroy(); }, reason: /connection dropped before the handshake finished \(1006\)$/ },
  { name: 'silence after the upgrade', run: async (c) => { await c.upgrade(); await c.clientHello(); }, sends: 4009, reason: /no hello from the hub within 3000 ms \(4009\)$/ },
  { name: 'RSV1 set', run: raw(Buffer.from([0xc2, 0x01, 0x00])), sends: 1002, reason: /RSV1 must be clear \(1002\)$/ },
  { name: 'opcode 3 (reserved)', run: raw(Buffer.from([0x83, 0x01, 0x00])), sends: 1002, reason: /invalid opcode 3 \(1002\)$/ },
  { name: 'a masked frame from the server', run: raw(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5])), sends: 1002, reason: /MASK must be clear \(1002\)$/ },
  { name: 'a frame that claims 2^62 bytes', run: raw(Buffer.from([0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0])), sends: 1009, reason: /(Max payload size exceeded|payload length > 2\^53 - 1) \((1009|1002)\)$/ },
  { name: 'a fragmented ping', run: raw(Buffer.from([0x09, 0x00])), sends: 1002, reason: /FIN must be set \(1002\)$/ },
  { name: 'a close reason that is not UTF-8', run: raw(Buffer.from([0x88, 0x04, 0x03, 0xe8, 0xff, 0xfe])), sends: 1007, reason: /invalid UTF-8 sequence \(1007\)$/ },
  { name: 'a close frame with code 1005 (reserved)', run: raw(Buffer.from([0x88, 0x02, 0x03, 0xed])), sends: 1002, reason: /invalid status code 1005 \(1002\)$/ },
  { name: 'the hub closes with its own code', run: raw(Buffer.from([0x88, 0x06, 0x0f, 0xa4, 0x6e, 0x6f, 0x70, 0x65])), reason: /the hub closed the connection: nope \(4004\)$/ },
  { name: 'silence after the server hello', run: async (c, h) => { await c.upgrade(); await c.handshake(h.hubKeys); }, sends: 4009, reason: /no welcome from the hub within 3000 ms \(4009\)$/ },
  { name: 'a sealed message out of turn (before the welcome)', run: async (c, h) => { await c.upgrade(); const s = await c.handshake(h.hubKeys); c.sendBinary(sealMessage(s.cipher, { t: 'ack', seq: 5 })); }, sends: 4001, reason: /unexpected ack from the hub \(4001\)$/ },
  { name: 'sealed garbage before the welcome', run: async (c, h) => { await c.upgrade(); await c.handshake(h.hubKeys); c.sendBinary(randomBytes(40)); }, sends: 4002, reason: /frame failed to open .* \(4002\)$/ },
  { name: 'a tampered sealed frame after the welcome', welcomes: true, run: welcomed((c, s) => { const f = sealMessage(s.cipher, { t: 'ping', n: 1 }); f[f.length - 1] = f[f.length - 1]! ^ 1; c.sendBinary(f); }), sends: 4002, reason: /frame failed to open .* \(4002\)$/ },
  { name: 'a replayed sealed frame after the welcome', welcomes: true, run: welcomed((c, s) => { const f = sealMessage(s.cipher, { t: 'ack', seq: 0 }); c.sendBinary(f); c.sendBinary(f); }), sends: 4002, reason: /frame failed to open .* \(4002\)$/ },
  { name: 'a truncated sealed frame after the welcome', welcomes: true, run: welcomed((c, s) => c.sendBinary(sealMessage(s.cipher, { t: 'ping', n: 1 }).subarray(0, 20))), sends: 4002, reason: /frame failed to open .* \(4002\)$/ },
  { name: 'sealed bytes that are not JSON after the welcome', welcomes: true, run: welcomed((c, s) => c.sendBinary(s.cipher.seal(Buffer.from('\x00{{{')))), sends: 4001, reason: /malformed link message: not UTF-8 JSON \(4001\)$/ },
  { name: 'a sealed frame with a bad part flag after the welcome', welcomes: true, run: welcomed((c, s) => c.sendBinary(s.cipher.seal(Buffer.from('\x07{}')))), sends: 4001, reason: /bad fragment flag 7 \(4001\)$/ },
  { name: 'a text frame after the welcome', welcomes: true, run: welcomed((c) => c.write(Buffer.from([0x81, 0x03, 0x7b, 0x7b, 0x7b]))), sends: 4001, reason: /text frame on a sealed channel \(4001\)$/ },
  { name: 'an early close after the welcome', welcomes: true, run: welcomed((c) => c.destroy()), reason: /closed with 1006 \(1006\)$/ },
];

describe('the Mac daemon against a hostile server', () => {
  const h = new HostileHub();
  let held: FakeConnection | null = null;
  before(async () => { await h.start(); });
  after(async () => { await h.close(); });

  it(`survives ${CASES.length} broken handshakes, answers and frames: each closes, shows on /health and is redialled with backoff`, async () => {
    let failures = 0;
    let conn = await h.accept();
    for (const [i, c] of CASES.entries()) {
      await c.run(conn, h);
      await conn.until(() => conn.closing, 10_000);
      const sent = conn.closeFrame();
      conn.destroy();
      if (c.sends !== undefined) assert.equal(sent?.code, c.sends, `${c.name}: the daemon closes with ${c.sends}`);
      failures = c.welcomes === true ? 1 : failures + 1;
      conn = await h.accept(); // it redials: the link is down until this connection is answered
      assert.ok(h.alive, `${c.name}: the daemon is still running`);
      const link = await h.linkHealth();
      assert.equal(link.state, 'degraded', c.name);
      assert.match(link.reason ?? '', c.reason, c.name);
      assert.equal(link.failures, failures, `${c.name}: failures in a row since the last welcome`);
      assert.equal(h.fake.accepted, i + 2);
    }
    const redials = h.env.mac!.lines.filter((l) => l.msg === 'link down; redialling');
    assert.equal(redials.length, CASES.length, 'one backoff per closed connection');
    for (const r of redials) assert.ok(typeof r['retryInMs'] === 'number' && r['retryInMs'] >= 0 && r['retryInMs'] < 100, 'within the configured cap');
    held = conn;
  });

  it('then links up with the real hub and delivers a message', async () => {
    await h.letThroughToRealHub(held);
    await h.env.mac!.waitForLog(/^link up$/);
    h.env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    const guid = h.env.writer.insert({ chat: DM, handle: ALICE, text: 'after the storm' }).guid;
    await waitFor(() => h.env.receiver.distinct().length === 1, 'the webhook delivery', 15_000);
    assert.equal(h.env.receiver.received[0]!.body.event['guid'], guid);
    assert.equal((await h.linkHealth()).state, 'ok');
    assert.ok(h.alive);
  });
});
