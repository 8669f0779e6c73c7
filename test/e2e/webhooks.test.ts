// Webhook delivery when receivers fail: retried with backoff until the receiver recovers (delivered
// once, signed), a receiver that never recovers ends in the dead-letter list, visible in the API, and
// a dead letter put back in line is sent once per attempt without sending anything else again.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { freePort } from '../support/processes.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { hubFetch } from '../support/openapi-contract.js';

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
      // One more in the same chat (lane): once it is in, anything sent twice in that lane came before it.
      const last = env.writer.insert({ chat: DM, handle: ALICE, text: 'after recovery' }).guid;
      await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === last), 'the last message', 10_000);
      assert.deepEqual(env.receiver.received.map((r) => r.body.event['guid']), [...guids, last], 'each once, in order');
      assert.ok(env.receiver.received.every((r) => r.signatureOk));
      assert.ok(env.receiver.received[0]!.attempt > 1, 'the first event needed retries');

      let dead: Array<{ hook: string; id: string; seq: number; attempts: number; last_error: string }> = [];
      for (let i = 0; i < 200 && dead.length < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        dead = ((await (await env.api('/v1/dead-letters')).json()) as { dead_letters: typeof dead }).dead_letters;
      }
      assert.equal(dead.length, 20);
      assert.ok(dead.every((d) => d.hook === 'broken' && d.attempts === 3 && d.last_error !== ''));
      const health = await hubFetch(`http://127.0.0.1:${env.apiPort}/health`);
      assert.equal(health.status, 503);
      assert.match(((await health.json()) as { components: { webhooks: { reason: string } } }).components.webhooks.reason, /dead-letter/);
      const retry = await env.api(`/v1/dead-letters/broken/${dead[0]!.seq}/retry`, { method: 'POST' });
      assert.equal(retry.status, 202);
      assert.equal((await env.api('/v1/dead-letters/broken/999999/retry', { method: 'POST' })).status, 404);
    } finally {
      await env.close();
    }
  });

  it('a dead letter put back in line while other deliveries flow is POSTed once per attempt; nothing else is POSTed again', async () => {
    const env = new RelayEnv();
    try {
      const BOB = '+15555550188';
      const DOOMED = `iMessage;-;${BOB}`;
      await env.prepare({ webhook: { maxAttempts: 2, backoffBaseMs: 20, backoffCapMs: 50 } });
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      env.writer.chat({ guid: DOOMED, identifier: BOB, participants: [BOB] });
      const chatOf = (b: { event: Record<string, unknown> }): string => (b.event['chat'] as { guid: string }).guid;
      let doomedFails = true;
      env.receiver.failWhen = (b) => doomedFails && chatOf(b) === DOOMED;
      await env.startLinked();
      const doomed = [0, 1, 2].map((i) => env.writer.insert({ chat: DOOMED, handle: BOB, text: `doomed ${i}` }).guid);
      let dead: Array<{ hook: string; id: string; seq: number }> = [];
      for (let i = 0; i < 300 && dead.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 50));
        dead = ((await (await env.api('/v1/dead-letters')).json()) as { dead_letters: typeof dead }).dead_letters;
      }
      assert.equal(dead.length, 3);
      doomedFails = false;

      // Each retry is asked for right after the receiver answered a message of the other chat, while
      // that chat's messages stream through: some were answered a moment ago and not yet recorded.
      const toRetry = dead.map((d) => d.seq);
      const retried: number[] = [];
      let asking = false;
      env.receiver.onReceived = (r) => {
        if (asking || toRetry.length === 0 || chatOf(r.body) !== DM) return;
        asking = true;
        void env.api(`/v1/dead-letters/main/${toRetry.shift()!}/retry`, { method: 'POST' }).then((res) => { retried.push(res.status); asking = false; });
      };
      const live = Array.from({ length: 300 }, (_, i) => env.writer.insert({ chat: DM, handle: ALICE, text: `streaming ${i}` }).guid);
      await waitFor(() => retried.length === 3, 'the three retries', 20_000);
      assert.deepEqual(retried, [202, 202, 202]);
      // A last message in each chat: once both are in, anything sent twice in those lanes came before.
      const ends = [env.writer.insert({ chat: DM, handle: ALICE, text: 'the end' }).guid, env.writer.insert({ chat: DOOMED, handle: BOB, text: 'the end' }).guid];
      const got = (g: string): boolean => env.receiver.received.some((r) => r.body.event['guid'] === g);
      await waitFor(() => [...ends, ...doomed].every(got), 'the revived dead letters and the last messages', 20_000);

      const guidOf = new Map(env.receiver.received.map((r) => [r.id, String(r.body.event['guid'])]));
      const postsOf = (guid: string): string[] => env.receiver.posts.filter((p) => guidOf.get(p.id) === guid).map((p) => `${p.attempt}:${p.ok ? 'ok' : 'failed'}`);
      for (const g of [...live, ...ends]) assert.deepEqual(postsOf(g), ['1:ok'], `message ${live.indexOf(g)} POSTed once`);
      for (const g of doomed) assert.deepEqual(postsOf(g), ['1:failed', '2:failed', '1:ok'], 'two failed attempts, dead, then once after the retry');
      assert.deepEqual(env.receiver.received.filter((r) => chatOf(r.body) === DM).map((r) => r.body.event['guid']), [...live, ends[0]], 'the streaming chat in order');
    } finally {
      await env.close();
    }
  });
});
