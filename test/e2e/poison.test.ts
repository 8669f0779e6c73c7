// No poison item: a message too large for the link must not block the ones after it. The relay and
// the hub run as real processes (a 70 MB body in chat.db); a command the relay will not take is
// sent by a hand-driven hub (the real link server, no API in front of it).
import assert from 'node:assert/strict';
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
