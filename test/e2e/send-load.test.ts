// Many replies: per-chat order and the rate limits, and kill -9 of the relay in the middle of 200
// sends (never two rows for one command; every command ends sent, delivered, failed or unknown).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAKE_OSASCRIPT } from '../support/fake-messages.js';
import { mulberry32 } from '../support/fuzz.js';
import { RelayEnv } from '../support/relay-env.js';

const chat = (i: number): string => `iMessage;-;+1555010000${i}`;

/** Hub and relay running, Messages with 5 DMs, the sender limited to `perSecond` overall and `perChat` per chat. */
async function fiveChats(env: RelayEnv, perSecond: number, perChat: number): Promise<void> {
  await env.prepare({ macExtra: { sender: { osascript: FAKE_OSASCRIPT, perSecond, perChatPerSecond: perChat, confirmMs: 3000 } } });
  for (let c = 0; c < 5; c++) env.writer.chat({ guid: chat(c), identifier: chat(c).split(';')[2]!, participants: [chat(c).split(';')[2]!] });
  await env.startHub();
  await env.startMac();
}

async function postAll(env: RelayEnv, texts: Array<{ chat: string; text: string }>): Promise<string[]> {
  const ids: string[] = [];
  for (const t of texts) {
    const res = await env.api('/v1/messages', { method: 'POST', headers: { 'idempotency-key': t.text }, body: JSON.stringify({ chat_guid: t.chat, text: t.text }) });
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

async function statuses(env: RelayEnv, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of ids) out.set(id, ((await (await env.api(`/v1/messages/${id}`)).json()) as { status: string }).status);
  return out;
}

async function settled(env: RelayEnv, ids: string[], timeoutMs: number, done = ['sent', 'delivered', 'read', 'failed', 'unknown']): Promise<Map<string, string>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await statuses(env, ids);
    if ([...s.values()].every((x) => done.includes(x)) || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('many replies', () => {
  it('100 replies over 5 chats: each chat in order, within 10 sends/s overall and 4/s per chat', async () => {
    const env = new RelayEnv();
    try {
      await fiveChats(env, 10, 4);
      const plan = Array.from({ length: 100 }, (_, i) => ({ chat: chat(i % 5), text: `reply ${i} to chat ${i % 5}` }));
      const ids = await postAll(env, plan);
      // 1:1 iMessage replies end delivered (the fake reports delivery ~150 ms after sent).
      const s = await settled(env, ids, 240_000, ['delivered', 'read', 'failed', 'unknown']);
      assert.ok([...s.values()].every((x) => x === 'delivered'), JSON.stringify([...s.values()].filter((x) => x !== 'delivered')));
      for (let c = 0; c < 5; c++) {
        const texts = env.writer.db.prepare(`SELECT m.text FROM message m JOIN chat_message_join j ON j.message_id = m.ROWID JOIN chat ch ON ch.ROWID = j.chat_id
          WHERE ch.guid = ? AND m.is_from_me = 1 ORDER BY m.ROWID`).pluck().all(chat(c));
        assert.deepEqual(texts, plan.filter((p) => p.chat === chat(c)).map((p) => p.text), `chat ${c} in order`);
      }
      const sends = env.sends() as unknown as Array<{ t: number; to: { id: string } }>;
      assert.equal(sends.length, 100);
      for (let i = 1; i < sends.length; i++) assert.ok(sends[i]!.t - sends[i - 1]!.t >= 100 - 15, `overall spacing ${sends[i]!.t - sends[i - 1]!.t} ms`);
      const byChat = new Map<string, number[]>();
      for (const x of sends) byChat.set(x.to.id, [...(byChat.get(x.to.id) ?? []), x.t]);
      for (const ts of byChat.values()) for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! - ts[i - 1]! >= 250 - 15, `per-chat spacing ${ts[i]! - ts[i - 1]!} ms`);
    } finally {
      await env.close();
    }
  });

  it('kill -9 of the relay at random points of 200 sends: never two rows for one command, every command ends', async () => {
    const env = new RelayEnv();
    try {
      await fiveChats(env, 100, 100);
      const plan = Array.from({ length: 200 }, (_, i) => ({ chat: chat(i % 5), text: `kill test ${i}` }));
      const ids = await postAll(env, plan);
      const rand = mulberry32(2024);
      for (let k = 0; k < 8; k++) {
        await new Promise((r) => setTimeout(r, 800 + rand() * 2500));
        await env.mac!.kill9();
        await env.startMac();
      }
      const s = await settled(env, ids, 240_000);
      const counts = plan.map((p) => Number(env.writer.db.prepare('SELECT COUNT(*) FROM message WHERE is_from_me = 1 AND text = ?').pluck().get(p.text)));
      assert.ok(counts.every((n) => n <= 1), `a command produced ${Math.max(...counts)} rows`);
      const final = ids.map((id) => s.get(id));
      assert.ok(final.every((x) => x === 'sent' || x === 'delivered' || x === 'failed' || x === 'unknown'), JSON.stringify(final.filter((x) => !['sent', 'delivered', 'failed', 'unknown'].includes(x!))));
      ids.forEach((id, i) => {
        if (s.get(id) === 'unknown') assert.equal(counts[i], 0, `${plan[i]!.text} is unknown though chat.db has its row`);
        if (s.get(id) === 'delivered' || s.get(id) === 'sent') assert.equal(counts[i], 1);
      });
      assert.ok(final.filter((x) => x === 'delivered').length >= 150, `most were delivered (${final.filter((x) => x === 'delivered').length})`);
    } finally {
      await env.close();
    }
  });
});
