// No poison item: a message too large for the link must not block the ones after it. The relay and
// the hub run as real processes (a 70 MB body in chat.db); a command the relay will not take is
// sent by a hand-driven hub (the real link server, no API in front of it).
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { DEFAULT_CHANNEL_OPTIONS, type SealedChannel } from '../../relay/link/channel.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { readKeyFile } from '../../relay/link/keys.js';
import { LinkServer } from '../../relay/link/server.js';
import { silentLogger } from '../../relay/logger.js';
import { EVENT_LIMITS } from '../../relay/model/event-limits.js';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';
import { hubFetch } from '../support/openapi-contract.js';

const LINK = { heartbeatMs: 1000, deadAfterMs: 3000, backoffBaseMs: 50, backoffCapMs: 500 };

async function relayMetrics(env: RelayEnv): Promise<string> {
  return (await fetch(`http://127.0.0.1:${env.healthPort}/metrics`)).text();
}

describe('a 70 MB message body in chat.db', () => {
  const env = new RelayEnv();

  before(async () => {
    // Reading a 70 MB row holds the relay's event loop for a second or more (longer on a busy
    // machine): the heartbeat allows for it here as the default (30 s) does in production.
    const link = { ...LINK, deadAfterMs: 20_000 };
    await env.prepare({ macExtra: { link }, hubExtra: { link } });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
  });
  after(() => env.close());

  it('does not hold up the next message, and itself arrives cut to the limit with truncated: true', async () => {
    // 70 MB of text: as JSON far more than the link carries in one message (64 MiB).
    const huge = '0123456789'.repeat(7_000_000);
    const body = encodeAttributedBody(huge);
    assert.ok(body.length > 70_000_000);
    const big = env.writer.insert({ chat: DM, handle: ALICE, body, text: null });
    const t0 = Date.now();
    const normal = env.writer.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('the message after it'), text: null });
    const event = (guid: string): Record<string, unknown> | undefined => env.receiver.received.find((r) => r.body.event['guid'] === guid)?.body.event;
    await waitFor(() => event(normal.guid) !== undefined, 'the normal message at the webhook', 30_000);
    const latency = Date.now() - t0;
    // Normal latency: a poll (200 ms) and the settle window (100 ms), plus reading and cutting the
    // 70 MB row twice on a shared machine; the old relay never delivered it at all.
    assert.ok(latency < 10_000, `the normal message took ${latency} ms`);
    const n = event(normal.guid)!;
    assert.equal(n['text'], 'the message after it');
    assert.equal(n['truncated'], false);
    const b = event(big.guid);
    assert.ok(b !== undefined, 'the huge message was delivered too (it is ahead of the normal one in the chat)');
    assert.equal(b['truncated'], true);
    assert.equal(b['text'], huge.slice(0, EVENT_LIMITS.textBytes), 'cut to the documented limit (ASCII: one byte a character)');
    assert.deepEqual(env.receiver.received.map((r) => r.body.event['guid']), [big.guid, normal.guid], 'each once, in chat order');
    // The link never dropped for it, and the relay says what it did.
    const metrics = await relayMetrics(env);
    assert.match(metrics, /imessage_relay_reconnects_total 0\n/);
    assert.match(metrics, /imessage_relay_events_truncated_total 1\n/);
    assert.match(metrics, /imessage_relay_outbox_dead_letters 0\n/);
    assert.equal((await env.health()).body.status, 'ok');
  });
});

describe('an event the hub refuses', () => {
  const env = new RelayEnv();

  before(async () => {
    // The hub takes less than the relay sends (1 MiB against 4 MiB): the hub refuses the item.
    await env.prepare({ hubExtra: { link: { ...LINK, maxItemBytes: 1024 * 1024 } } });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
  });
  after(() => env.close());

  it('is dead-lettered on the relay (kept in relay.db, in /health and metrics); the next message arrives', async () => {
    // 200,000 control characters: under the text limit, but 6 bytes each as JSON (\u0007).
    const refused = env.writer.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('\u0007'.repeat(200_000)), text: null });
    const normal = env.writer.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('the message after it'), text: null });
    await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === normal.guid), 'the normal message at the webhook', 15_000);
    assert.ok(!env.receiver.received.some((r) => r.body.event['guid'] === refused.guid), 'the refused one is not delivered');
    let h = await env.health();
    for (let i = 0; i < 100 && h.body.components['outbox']?.state !== 'degraded'; i++) { await new Promise((r) => setTimeout(r, 50)); h = await env.health(); }
    assert.equal(h.status, 503);
    // The Mac's /health is the short form (state and reason only; the detail is on /metrics and in relay.db).
    const outbox = h.body.components['outbox'] as unknown as { state: string; reason: string };
    assert.match(outbox.reason, /1 outbox item\(s\) dead-lettered/);
    const relay = await relayMetrics(env);
    assert.match(relay, /imessage_relay_outbox_dead_letters_total\{code="ITEM_TOO_LARGE"\} 1\n/);
    assert.match(relay, /imessage_relay_outbox_dead_letters 1\n/);
    assert.match(relay, /imessage_relay_reconnects_total 0\n/);
    const hub = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text();
    assert.match(hub, /imessage_relay_items_refused_total\{code="ITEM_TOO_LARGE"\} 1\n/);
    const db = new Database(join(env.dir, 'mac', 'relay.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT dead_reason FROM outbox WHERE item_id = ?').get(`message:${refused.guid}`) as { dead_reason: string } | undefined;
      assert.match(row?.dead_reason ?? '', /^ITEM_TOO_LARGE: event item of \d+ bytes is over the hub's limit of 1048576 bytes/, 'the row is kept, with its reason');
    } finally { db.close(); }
  });
});

describe('a command larger than the relay takes', () => {
  const env = new RelayEnv();
  let server: LinkServer;
  let channel: SealedChannel | null = null;
  const got: LinkMessage[] = [];
  let closes = 0;

  before(async () => {
    await env.prepare();
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    // A hand-driven hub: the real link server and channel, with the keys the relay pins.
    const relayKey = readKeyFile(join(env.dir, 'keys', 'relay.key'));
    server = new LinkServer({
      host: '127.0.0.1', port: env.hubPort, keys: readKeyFile(join(env.dir, 'keys', 'hub.key')),
      relays: new Map([[Buffer.from(relayKey.publicKey).toString('base64'), 'alice']]),
      clock: systemClock, logger: silentLogger(), channel: { ...DEFAULT_CHANNEL_OPTIONS, heartbeatMs: 1000, deadAfterMs: 3000 },
      onChannel: (ch) => {
        channel = ch;
        ch.attach({
          message: (m) => {
            got.push(m);
            if (m.t === 'hello') ch.send({ t: 'welcome', v: 1, acked: 0, account: 'alice' });
            if (m.t === 'items') ch.send({ t: 'ack', seq: m.items.at(-1)!.seq });
          },
          close: () => { closes++; },
        });
      },
    });
    await server.listen();
    await env.startMac();
    await env.mac!.waitForLog(/^link up$/);
  });
  after(async () => { await env.close(); await server.close(); });

  const results = (): Array<Record<string, unknown>> => got.flatMap((m) => (m.t === 'items' ? m.items.filter((i) => i.type === 'result').map((i) => i.body) : []));

  it('is refused on its own: it ends failed with ITEM_TOO_LARGE, the link stays up, the next command is sent', async () => {
    const send = (text: string): Record<string, unknown> => ({ kind: 'send', text, chat_guid: DM, handle: null, service: null });
    channel!.send({
      t: 'commands', items: [
        // Over the relay's default limit (4 MiB), well within what the link carries (64 MiB).
        { seq: 1, id: 'cmd-huge', body: send('x'.repeat(5 * 1024 * 1024)) },
        { seq: 2, id: 'cmd-next', body: send('the reply after it') },
      ],
    });
    await waitFor(() => got.some((m) => m.t === 'cmd_ack' && m.seq === 2), 'cmd_ack past both commands', 10_000);
    await waitFor(() => results().some((r) => r['command_id'] === 'cmd-next' && ['sent', 'delivered'].includes(String(r['status']))), 'the next command sent', 20_000);
    const huge = results().filter((r) => r['command_id'] === 'cmd-huge');
    assert.deepEqual(huge.map((r) => r['status']), ['failed'], 'reported once, as failed, and never sent');
    assert.match(String(huge[0]!['error']), /^ITEM_TOO_LARGE: /);
    assert.equal(env.sends().length, 1, 'only the next command reached Messages');
    assert.equal(closes, 0, 'the link never closed');
    assert.equal(channel!.isOpen, true);
  });
});
