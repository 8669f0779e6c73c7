// Many replies: per-chat order and the rate limits (kill -9 in the middle of 200 sends: send-load-kill.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayEnv } from '../support/relay-env.js';
import { chat, fiveChats, postAll, settled } from '../support/send-load.js';

describe('many replies', () => {
  it('100 replies over 5 chats: each chat in order, within 10 sends/s overall and 4/s per chat', async () => {
    const env = new RelayEnv();
    try {
      await fiveChats(env, 10, 4);
      const plan = Array.from({ length: 100 }, (_, i) => ({ chat: chat(i % 5), text: `reply ${i} to chat ${i % 5}` }));
      const ids = await postAll(env, plan);
      // 1:1 iMessage replies end delivered (the fake reports delivery ~150 ms after sent).
      const s = await settled(env, ids, 420_000, ['delivered', 'read', 'failed', 'unknown']);
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

});
