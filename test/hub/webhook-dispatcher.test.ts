// The dispatcher re-reading the store (after a dead letter is put back in line) while deliveries
// stream: events answered a moment ago but not yet recorded as delivered are not POSTed again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { DispatchEnv, testHook } from '../support/dispatch-env.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'webhook-secret-0123456789';

describe('webhook dispatcher reload', () => {
  it('re-reading the store every millisecond while two chats stream never POSTs an event twice', async () => {
    const receiver = new WebhookReceiver(SECRET);
    const env = new DispatchEnv([testHook('main', `http://127.0.0.1:${await receiver.start()}/hook`, SECRET)]);
    const reloads = setInterval(() => env.dispatchers[0]!.reload(), 1);
    try {
      const a = Array.from({ length: 400 }, (_, i) => `A${i}`);
      const b = Array.from({ length: 400 }, (_, i) => `B${i}`);
      for (let i = 0; i < 400; i += 50) {
        env.ingest('+15555550001', a.slice(i, i + 50));
        env.ingest('+15555550002', b.slice(i, i + 50));
      }
      await waitFor(() => receiver.distinct().length === 800, 'all 800 events', 20_000);
      clearInterval(reloads);
      // A last event per chat: once both are in, any second POST in those lanes came before them.
      env.ingest('+15555550001', ['A-end']);
      env.ingest('+15555550002', ['B-end']);
      await waitFor(() => receiver.distinct().length === 802, 'the last events', 5000);
      const guids = (prefix: string): string[] => receiver.received.map((r) => String(r.body.event['guid'])).filter((g) => g.startsWith(prefix));
      assert.deepEqual(guids('A'), [...a, 'A-end'], 'chat A: each event once, in order');
      assert.deepEqual(guids('B'), [...b, 'B-end'], 'chat B: each event once, in order');
      assert.ok(receiver.posts.every((p) => p.ok && p.attempt === 1));
    } finally {
      clearInterval(reloads);
      env.close();
      await receiver.stop();
    }
  });
});
