// The relay as it runs: `imessage-relay hub` and `imessage-relay run` as real processes on loopback,
// a chat.db written like Messages writes it, a webhook receiver, the REST API.
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv, TOKEN } from '../support/relay-env.js';
import { hubFetch } from '../support/openapi-contract.js';

describe('relay → hub → webhook, end to end', () => {
  const env = new RelayEnv();

  before(async () => {
    await env.prepare();
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
  });
  after(() => env.close());

  /** The relay's count of commands stored in its inbox (from its /metrics). */
  const commandsReceived = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${env.healthPort}/metrics`)).text();
    return Number(/imessage_relay_commands_total\{result="received"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  it('1,000 inbound messages reach the webhook receiver exactly once, in order, signed', async () => {
    const from = env.receiver.received.length;
    const body = encodeAttributedBody('hello from the test');
    const guids: string[] = [];
    for (let i = 0; i < 10; i++) {
      env.writer.db.transaction(() => { for (let j = 0; j < 100; j++) guids.push(env.writer.insert({ chat: DM, handle: ALICE, body, text: null }).guid); })();
    }
    guids.push(await env.marker(DM));
    const mine = env.receiver.received.slice(from);
    assert.deepEqual(mine.map((r) => r.body.event['guid']), guids, 'each once, in chat order');
    assert.deepEqual(mine.filter((r) => !r.signatureOk).map((r) => r.id), [], 'every signature checks out');
    assert.deepEqual(mine.filter((r) => !(r.body.account === 'alice' && r.body.prompt === true && r.id === `message:${String(r.body.event['guid'])}`)).map((r) => r.id), [],
      'account, prompt and id as documented');
  });

  it('stores a backlog message (dated long before it was read) as a non-prompt', async () => {
    const old = env.writer.insert({ chat: DM, handle: ALICE, text: 'synced from iCloud, sent last year', dateMs: Date.now() - 365 * 24 * 3600_000 });
    const fresh = await env.marker(DM);
    const byGuid = (g: string) => env.receiver.received.find((x) => x.body.event['guid'] === g)!;
    assert.deepEqual([byGuid(old.guid).body.event['backlog'], byGuid(old.guid).body.prompt], [true, false]);
    assert.deepEqual([byGuid(fresh).body.event['backlog'], byGuid(fresh).body.prompt], [false, true]);
    const stored = await (await env.api(`/v1/events?after=${byGuid(old.guid).body.seq - 1}&limit=1`)).json() as { events: Array<{ event: { guid: string; backlog: boolean } }> };
    assert.deepEqual(stored.events.map((e) => [e.event.guid, e.event.backlog]), [[old.guid, true]], 'kept at the hub, marked backlog');
  });

  it('stores a from-me row as from_me, never as a prompt', async () => {
    const mine = env.writer.insert({ chat: DM, fromMe: true, handle: ALICE, body: encodeAttributedBody('my own reply'), isSent: true });
    await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === mine.guid), 'from-me event');
    const r = env.receiver.received.find((x) => x.body.event['guid'] === mine.guid)!;
    assert.equal(r.body.event['kind'], 'from_me');
    assert.equal(r.body.prompt, false);
  });

  it('GET /v1/events long-polls until an event arrives', async () => {
    let next = 0;
    for (;;) {
      const page = await (await env.api(`/v1/events?after=${next}&limit=1000`)).json() as { events: unknown[]; next: number };
      if (page.events.length === 0) break;
      next = page.next;
    }
    const pending = env.api(`/v1/events?after=${next}&wait=10`);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const row = env.writer.insert({ chat: DM, handle: ALICE, text: 'wake the long poll' });
    const res = await pending;
    const got = await res.json() as { events: Array<{ seq: number; event: { guid: string } }>; next: number };
    assert.equal(res.status, 200);
    assert.equal(got.events[0]?.event.guid, row.guid);
    assert.ok(Date.now() - t0 < 5000, 'answered as soon as the event was stored');
    assert.equal(got.next, got.events.at(-1)!.seq);
  });

  it('POST /v1/messages: one command per Idempotency-Key; 401 without the token; 400 with what is wrong', async () => {
    const receivedBefore = await commandsReceived();
    const send = (key: string): Promise<Response> => env.api('/v1/messages', { method: 'POST', headers: { 'idempotency-key': key }, body: JSON.stringify({ chat_guid: DM, text: 'reply once' }) });
    const a = await send('key-1');
    const b = await send('key-1');
    const c = await send('key-2');
    const ja = await a.json() as { id: string; status: string };
    const jb = await b.json() as { id: string };
    const jc = await c.json() as { id: string };
    assert.equal(a.status, 202);
    assert.equal(ja.status, 'queued');
    assert.equal(jb.id, ja.id, 'same key, same command');
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.notEqual(jc.id, ja.id);
    const got = await env.api(`/v1/messages/${ja.id}`);
    assert.equal(got.status, 200);
    assert.ok(['queued', 'sending', 'sent', 'delivered'].includes((await got.json() as { status: string }).status));
    assert.equal((await env.api('/v1/messages/no-such-id')).status, 404);
    const unauth = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/chats`);
    assert.equal(unauth.status, 401);
    assert.equal(((await unauth.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    const wrong = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/chats`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(wrong.status, 401);
    const bad = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ text: 'no target' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /chat_guid/);
    const chats = await (await env.api('/v1/chats')).json() as { chats: Array<{ guid: string; participants: string[] }> };
    assert.deepEqual(chats.chats.map((x) => x.guid), [DM]);
    // The relay received each command once, acknowledged it, and keeps it in its inbox: a third
    // command behind the two is the positive sign that nothing more of them is on its way.
    const third = await send('key-3');
    assert.equal(third.status, 202);
    const jt = await third.json() as { id: string };
    for (let i = 0; i < 200 && (await commandsReceived()) < receivedBefore + 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await commandsReceived(), receivedBefore + 3, 'key-1 (sent twice), key-2 and key-3: three commands, each received once');
    // Each is sent once, and nothing is left in flight for the tests after this one.
    const final = await env.commandStatuses([ja.id, jc.id, jt.id], ['delivered', 'read', 'failed', 'unknown'], 60_000);
    assert.deepEqual([...final.values()], ['delivered', 'delivered', 'delivered']);
    assert.equal(env.writer.db.prepare("SELECT COUNT(*) FROM message WHERE is_from_me = 1 AND text = 'reply once'").pluck().get(), 3);
  });

  it('/health turns degraded when chat.db is unreadable or the link is down, and back to ok', async () => {
    assert.equal((await env.health()).body.status, 'ok');
    renameSync(env.writer.path, `${env.writer.path}.away`);
    let h = await env.health();
    try {
      for (let i = 0; i < 100 && h.body.components['chatdb']?.state !== 'degraded'; i++) { await new Promise((r) => setTimeout(r, 50)); h = await env.health(); }
      assert.equal(h.status, 503);
      assert.equal(h.body.status, 'degraded');
      assert.match(h.body.components['chatdb']!.reason!, /chat\.db/);
    } finally {
      renameSync(`${env.writer.path}.away`, env.writer.path);
    }
    for (let i = 0; i < 200 && h.body.status !== 'ok'; i++) { await new Promise((r) => setTimeout(r, 50)); h = await env.health(); }
    assert.equal(h.body.status, 'ok');
    await env.hub!.stop();
    for (let i = 0; i < 200 && h.body.components['link']?.state !== 'degraded'; i++) { await new Promise((r) => setTimeout(r, 50)); h = await env.health(); }
    assert.equal(h.status, 503);
    assert.match(h.body.components['link']!.reason!, /link to the hub is down/);
    await env.startHub();
    for (let i = 0; i < 200 && h.body.status !== 'ok'; i++) { await new Promise((r) => setTimeout(r, 50)); h = await env.health(); }
    assert.equal(h.body.status, 'ok');
  });
});
