// Kill -9 of the relay in the middle of 200 sends: never two rows for one command; every command ends
// sent, delivered, failed or unknown. Its own file (each fake osascript is a node start: minutes on a busy machine).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../support/fuzz.js';
import { RelayEnv } from '../support/relay-env.js';
import { chat, fiveChats, postAll, settled } from '../support/send-load.js';

describe('many replies under kill -9', () => {
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
      const s = await settled(env, ids, 480_000);
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
