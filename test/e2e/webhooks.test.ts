// Webhook delivery when receivers fail: retried with backoff until the receiver recovers (delivered
// once, signed), and a receiver that never recovers ends in the dead-letter list, visible in the API.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { freePort } from '../support/processes.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';

describe('webhooks when the receiver fails', () => {
  it('retries until the receiver recovers, then delivers each event once; a dead receiver fills the dead-letter list', async () => {
    const env = new RelayEnv();
    try {
      const deadPort = await freePort();
      await env.prepare();
      const hookPort = env.hookPort;
      const cfg = JSON.parse(readFileSync(env.hubConfig, 'utf8')) as { webhooks: unknown[] };
      cfg.webhooks = [
        { name: 'main', url: `http://127.0.0.1:${hookPort}/hook`, secretFile: join(env.dir, 'keys', 'whsecret'), backoffBaseMs: 100, backoffCapMs: 400, maxAttempts: 50 },
        { name: 'broken', url: `http://127.0.0.1:${deadPort}/gone`, secretFile: join(env.dir, 'keys', 'whsecret'), backoffBaseMs: 20, backoffCapMs: 50, maxAttempts: 3 },
      ];
      writeFileSync(env.hubConfig, JSON.stringify(cfg));
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      env.receiver.failWith = 503;
      await env.startHub();
      await env.startMac();
      const guids = Array.from({ length: 20 }, (_, i) => env.writer.insert({ chat: DM, handle: ALICE, text: `while the receiver is down ${i}` }).guid);
      await waitFor(() => env.receiver.failures >= 3, 'failed attempts', 10_000);
      assert.equal(env.receiver.received.length, 0);
      env.receiver.failWith = null;
      await waitFor(() => env.receiver.distinct().length >= 20, 'delivery after recovery', 20_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(env.receiver.received.map((r) => r.body.event['guid']), guids, 'each once, in order');
      assert.ok(env.receiver.received.every((r) => r.signatureOk));
      assert.ok(env.receiver.received[0]!.attempt > 1, 'the first event needed retries');

      let dead: Array<{ hook: string; id: string; seq: number; attempts: number; last_error: string }> = [];
      for (let i = 0; i < 200 && dead.length < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        dead = ((await (await env.api('/v1/dead-letters')).json()) as { dead_letters: typeof dead }).dead_letters;
      }
      assert.equal(dead.length, 20);
      assert.ok(dead.every((d) => d.hook === 'broken' && d.attempts === 3 && d.last_error !== ''));
      const health = await fetch(`http://127.0.0.1:${env.apiPort}/health`);
      assert.equal(health.status, 503);
      assert.match(((await health.json()) as { components: { webhooks: { reason: string } } }).components.webhooks.reason, /dead-letter/);
      const retry = await env.api(`/v1/dead-letters/broken/${dead[0]!.seq}/retry`, { method: 'POST' });
      assert.equal(retry.status, 202);
      assert.equal((await env.api('/v1/dead-letters/broken/999999/retry', { method: 'POST' })).status, 404);
    } finally {
      await env.close();
    }
  });
});
