// The hub faced with wrong keys and bad frames: each is refused and logged, nothing of it is stored,
// and a well-behaved relay connected at the same time keeps being served.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import { fingerprint, writeNewKeyFile, type KeyPair } from '../../relay/link/keys.js';
import { createLogger } from '../../relay/logger.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { openRaw, rawLink, type RawLink } from '../support/raw-link.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';
import { hubFetch } from '../support/openapi-contract.js';

const event = (guid: string): Record<string, unknown> => ({ kind: 'message', guid, rowid: 1, date: null, service: 'iMessage', sender: '+1555', chat: null, backlog: false, text: 'x', attachments: [], reply_to: null, mentions: [], decode_error: null, truncated: false });
const items = (seq: number, guid: string): LinkMessage => ({ t: 'items', items: [{ seq, type: 'event', id: `message:${guid}`, body: event(guid) }] });

describe('the hub under attack', () => {
  const tmp = tempDir();
  const logs: string[] = [];
  let hub: Hub;
  let url = '';
  let apiPort = 0;
  let good: KeyPair;
  let mallory: KeyPair;
  let stranger: KeyPair;
  let goodLink: RawLink;
  let goodSeq = 0;

  const sendGood = async (guid: string): Promise<void> => {
    goodSeq++;
    goodLink.send(goodLink.seal(items(goodSeq, guid)));
    await waitFor(() => goodLink.received.some((m) => m.t === 'ack' && m.seq === goodSeq), `ack ${goodSeq}`);
  };
  const storedGuids = async (): Promise<string[]> => {
    const res = await hubFetch(`http://127.0.0.1:${apiPort}/v1/events?after=0&limit=1000`, { headers: { authorization: 'Bearer attack-test-token-0123456789' } });
    return ((await res.json()) as { events: Array<{ event: { guid: string } }> }).events.map((e) => e.event.guid);
  };

  before(async () => {
    const hubKeys = writeNewKeyFile(join(tmp.dir, 'hub.key'));
    good = writeNewKeyFile(join(tmp.dir, 'good.key'));
    mallory = writeNewKeyFile(join(tmp.dir, 'mallory.key'));
    stranger = writeNewKeyFile(join(tmp.dir, 'stranger.key'));
    void hubKeys;
    const logger = createLogger({ destination: new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }) });
    hub = new Hub({
      clock: systemClock, logger,
      config: inProcessHubConfig(tmp.dir, { token: 'attack-test-token-0123456789', relays: [['good', good], ['mallory', mallory]], link: { maxFrameBytes: 64 * 1024 } }),
    });
    const ports = await hub.start();
    url = `ws://127.0.0.1:${ports.linkPort}`;
    apiPort = ports.apiPort;
    goodLink = await rawLink(url, good);
    goodLink.send(goodLink.seal({ t: 'hello', v: 1, agent: 'test', store: 'good-store', cmd_acked: 0 }));
    await waitFor(() => goodLink.received.some((m) => m.t === 'welcome'), 'welcome');
    await sendGood('GOOD-0');
  });
  after(async () => { goodLink.ws.close(); await hub.stop(); tmp.cleanup(); });

  /** Mallory (a pinned key) says hello properly first, so what follows is judged frame by frame. */
  async function malloryLink(store: string): Promise<RawLink> {
    const l = await rawLink(url, mallory);
    l.send(l.seal({ t: 'hello', v: 1, agent: 'mallory', store, cmd_acked: 0 }));
    await waitFor(() => l.received.some((m) => m.t === 'welcome'), 'mallory welcome');
    return l;
  }

  it('refuses an unknown key and logs its fingerprint', async () => {
    const l = await rawLink(url, stranger);
    const { code } = await l.closed;
    assert.equal(code, 4003);
    assert.ok(logs.some((line) => line.includes('unknown relay key') && line.includes(fingerprint(stranger.publicKey))), 'fingerprint logged');
    await sendGood('GOOD-1');
  });

  it('closes on a replayed frame; the replay is not stored twice', async () => {
    const l = await malloryLink('m1');
    const frame = l.seal(items(1, 'MALLORY-REPLAY'));
    l.send(frame);
    await waitFor(() => l.received.some((m) => m.t === 'ack'), 'first ack');
    l.send(frame);
    assert.equal((await l.closed).code, 4002);
    await sendGood('GOOD-2');
    assert.equal((await storedGuids()).filter((g) => g === 'MALLORY-REPLAY').length, 1);
  });

  it('closes on reordered, tampered and truncated frames; none of them is stored', async () => {
    const reordered = await malloryLink('m2');
    const f1 = reordered.seal(items(1, 'MALLORY-FIRST'));
    const f2 = reordered.seal(items(2, 'MALLORY-SECOND'));
    reordered.send(f2);
    reordered.send(f1);
    assert.equal((await reordered.closed).code, 4002);
    const tampered = await malloryLink('m3');
    const t = tampered.seal(items(1, 'MALLORY-TAMPERED'));
    t[t.length - 3] = t[t.length - 3]! ^ 0x01;
    tampered.send(t);
    assert.equal((await tampered.closed).code, 4002);
    const truncated = await malloryLink('m4');
    const tr = truncated.seal(items(1, 'MALLORY-TRUNCATED'));
    truncated.send(tr.subarray(0, tr.length - 10));
    assert.equal((await truncated.closed).code, 4002);
    await sendGood('GOOD-3');
    const stored = await storedGuids();
    for (const g of ['MALLORY-FIRST', 'MALLORY-SECOND', 'MALLORY-TAMPERED', 'MALLORY-TRUNCATED']) assert.ok(!stored.includes(g), `${g} not stored`);
    assert.ok(logs.filter((line) => line.includes('failed to open')).length >= 3, 'each logged');
  });

  it('closes on an oversized frame (1009) and on garbage or text before the handshake (4001)', async () => {
    const big = await malloryLink('m5');
    big.send(Buffer.alloc(200 * 1024, 7));
    assert.equal((await big.closed).code, 1009);
    const garbage = openRaw(url);
    await new Promise((r) => garbage.ws.once('open', r));
    garbage.ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\n definitely not a hello'));
    assert.equal((await garbage.closed).code, 4001);
    const text = openRaw(url);
    await new Promise((r) => text.ws.once('open', r));
    text.ws.send('hello?');
    assert.equal((await text.closed).code, 4001);
    assert.ok(logs.some((line) => line.includes('bad hello')));
    await sendGood('GOOD-4');
  });

  it('kept serving the good relay throughout, and stored exactly its events', async () => {
    const stored = await storedGuids();
    assert.deepEqual(stored.filter((g) => g.startsWith('GOOD')), ['GOOD-0', 'GOOD-1', 'GOOD-2', 'GOOD-3', 'GOOD-4']);
    assert.deepEqual(stored.filter((g) => !g.startsWith('GOOD')), ['MALLORY-REPLAY']);
    assert.equal(goodLink.ws.readyState, goodLink.ws.OPEN);
  });
});
