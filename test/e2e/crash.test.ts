// Crash-proofing with real kill -9: the daemon, then the hub, killed 10 times at random moments
// while 2,000 messages stream through; every message arrives exactly once, in chat order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../support/fuzz.js';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, RelayEnv } from '../support/relay-env.js';

const CHATS = ['iMessage;-;+15550000001', 'iMessage;-;+15550000002', 'iMessage;-;+15550000003', 'iMessage;+;chat900000000000000001'];

/** Writes `total` messages over about `ms`, round-robin over the chats; resolves with guids per chat. */
async function stream(env: RelayEnv, total: number, ms: number): Promise<Map<string, string[]>> {
  for (const c of CHATS) env.writer.chat({ guid: c, identifier: c.split(';')[2]!, group: c.includes(';+;'), participants: [ALICE] });
  const perChat = new Map(CHATS.map((c) => [c, [] as string[]]));
  const batch = 10;
  const pause = ms / (total / batch);
  for (let i = 0; i < total; i += batch) {
    env.writer.db.transaction(() => {
      for (let j = i; j < Math.min(total, i + batch); j++) {
        const chat = CHATS[j % CHATS.length]!;
        perChat.get(chat)!.push(env.writer.insert({ chat, handle: ALICE, text: `message ${j}` }).guid);
      }
    })();
    await new Promise((r) => setTimeout(r, pause));
  }
  return perChat;
}

/** One more message in every chat, each waited for at the receiver: after this nothing of the stream is still to come. */
async function markers(env: RelayEnv, perChat: Map<string, string[]>): Promise<void> {
  for (const chat of CHATS) perChat.get(chat)!.push(await env.marker(chat, 60_000));
}

function assertInChatOrder(env: RelayEnv, perChat: Map<string, string[]>): void {
  const firsts = env.receiver.distinct();
  for (const [chat, guids] of perChat) {
    const arrived = firsts.filter((r) => (r.body.event['chat'] as { guid: string }).guid === chat).map((r) => r.body.event['guid']);
    assert.deepEqual(arrived, guids, `chat ${chat} in order, nothing missing`);
  }
}

describe('kill -9 during a 2,000-message stream', () => {
  it('the daemon killed 10 times: every message exactly once, in chat order', async () => {
    const env = new RelayEnv();
    try {
      await env.prepare();
      await env.startHub();
      await env.startMac();
      const rand = mulberry32(42);
      const writing = stream(env, 2000, 9000);
      for (let k = 0; k < 10; k++) {
        await new Promise((r) => setTimeout(r, 100 + rand() * 500));
        await env.mac!.kill9();
        await env.startMac();
      }
      const perChat = await writing;
      await waitFor(() => env.receiver.distinct().length >= 2000, '2,000 distinct deliveries', 60_000);
      await markers(env, perChat);
      assert.equal(env.receiver.distinct().length, 2000 + CHATS.length);
      assert.equal(env.receiver.received.length, 2000 + CHATS.length, 'no message delivered twice');
      assertInChatOrder(env, perChat);
    } finally {
      await env.close();
    }
  });

  it('the hub killed 10 times: every message stored once and delivered, in chat order (receivers de-duplicate by id)', async () => {
    const env = new RelayEnv();
    try {
      await env.prepare();
      await env.startHub();
      await env.startMac();
      const rand = mulberry32(7);
      const writing = stream(env, 2000, 9000);
      const crashes: Array<{ killedAt: number; upAt: number }> = [];
      for (let k = 0; k < 10; k++) {
        await new Promise((r) => setTimeout(r, 100 + rand() * 500));
        const killedAt = Date.now();
        await env.hub!.kill9();
        await env.startHub();
        crashes.push({ killedAt, upAt: Date.now() });
      }
      const perChat = await writing;
      await waitFor(() => env.receiver.distinct().length >= 2000, '2,000 distinct deliveries', 60_000);
      await markers(env, perChat);
      assert.equal(env.receiver.distinct().length, 2000 + CHATS.length);
      // At-least-once to webhooks: a POST repeats only when a crash came between it and the record of
      // its 2xx. So every repeat of an event straddles a kill: never two POSTs of one event by one hub process.
      const times = new Map<string, number[]>();
      for (const r of env.receiver.received) times.set(r.id, [...(times.get(r.id) ?? []), r.at]);
      let duplicates = 0;
      for (const [id, ts] of times) {
        for (let i = 1; i < ts.length; i++) {
          duplicates++;
          assert.ok(crashes.some((c) => ts[i - 1]! <= c.upAt && ts[i]! >= c.killedAt), `${id} was POSTed twice by one hub process (${ts.join(', ')})`);
        }
      }
      // Each crash repeats at most what was in flight or not yet recorded: 32 lanes + one 500-row batch of marks.
      assert.ok(duplicates <= crashes.length * (32 + 500), `${duplicates} repeats`);
      assertInChatOrder(env, perChat);
      let stored = 0;
      let after = 0;
      for (;;) {
        const page = await (await env.api(`/v1/events?after=${after}&limit=1000`)).json() as { events: Array<{ id: string }>; next: number };
        if (page.events.length === 0) break;
        stored += page.events.length;
        after = page.next;
      }
      assert.equal(stored, 2000 + CHATS.length, 'the hub stored each message once');
    } finally {
      await env.close();
    }
  });
});
