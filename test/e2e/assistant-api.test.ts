// Issue 9's hub API end to end (real hub and relay processes, the simulated Messages, a real chat.db):
// chats with stable ids and history answered by the Mac (rows older than the hub's store), the row
// feed in strictly ascending ROWID (a lower row held to settle keeps the higher one back), waiting
// sends by chat id, the relay's own send coming back from-me with its command id, and the hub's
// answers from its own store (`source: "hub"`) while the relay is offline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { sendsOf } from '../support/send-api.js';

const GROUP = 'iMessage;+;chat555000000000000009';
const BOB = 'bob@example.com';

interface Row { kind: string; rowid: number; guid: string; command_id?: string | null; chat: { id: number | null; guid: string } | null; text?: string | null }
interface Feed { rows: Row[]; next: number }
interface Msg extends Row { reactions: Array<{ rowid: number; guid: string; reaction: string; sender: string | null; from_me: boolean }> }

async function json<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as T;
}

describe('the assistant API of issue 9 (chats, history, row feed, waiting sends)', () => {
  const env = new RelayEnv();
  let dmId = 0;
  let groupId = 0;
  /** Rows written before the relay ever ran: never events, only the Mac knows them. */
  const old: Record<string, { rowid: number; guid: string }> = {};
  const t0 = Date.now() - 3600_000;

  before(async () => {
    await env.prepare();
    const w = env.writer;
    dmId = w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    groupId = w.chat({ guid: GROUP, identifier: 'chat555000000000000009', group: true, name: 'Crew', participants: [ALICE, BOB] });
    old['hello'] = w.insert({ chat: DM, handle: ALICE, text: 'old hello', dateMs: t0 });
    old['reply'] = w.insert({ chat: DM, handle: ALICE, fromMe: true, isSent: true, text: 'old reply', dateMs: t0 + 60_000 });
    old['group'] = w.insert({ chat: GROUP, handle: BOB, text: 'group talk', dateMs: t0 + 90_000 });
    // Alice loves the old hello; she likes and then un-likes the old reply; I love her hello too.
    w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${old['hello']!.guid}`, associatedType: 2000, text: 'Loved', dateMs: t0 + 120_000 });
    w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${old['reply']!.guid}`, associatedType: 2001, text: 'Liked', dateMs: t0 + 130_000 });
    w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${old['reply']!.guid}`, associatedType: 3001, text: 'Removed a like', dateMs: t0 + 140_000 });
    w.insert({ chat: DM, handle: ALICE, fromMe: true, associatedGuid: `p:0/${old['hello']!.guid}`, associatedType: 2000, text: 'Loved', dateMs: t0 + 150_000 });
    old['latest'] = w.insert({ chat: DM, handle: ALICE, text: 'old latest', dateMs: t0 + 200_000 });
    await env.startLinked();
  });
  after(() => env.close());

  it('lists chats with their chat.db ids, newest activity first, from the Mac', async () => {
    const r = await json<{ chats: Array<{ id: number; guid: string; last_message_at: string; participants: string[]; is_group: boolean }>; source: string }>(await env.api('/v1/chats?limit=5'));
    assert.equal(r.source, 'mac');
    assert.deepEqual(r.chats.map((c) => [c.guid, c.id]), [[DM, dmId], [GROUP, groupId]]);
    assert.equal(r.chats[0]!.last_message_at, new Date(t0 + 200_000).toISOString());
    assert.deepEqual(r.chats[1]!.participants, [ALICE, BOB]);
    assert.equal(r.chats[1]!.is_group, true);
    const one = await json<{ chats: unknown[] }>(await env.api('/v1/chats?limit=1'));
    assert.equal(one.chats.length, 1);
  });

  it('answers history older than the hub from chat.db: newest first, tapbacks netted on their messages, no tapback rows', async () => {
    const r = await json<{ messages: Msg[]; source: string }>(await env.api(`/v1/chats/${dmId}/messages?limit=10`));
    assert.equal(r.source, 'mac');
    assert.deepEqual(r.messages.map((m) => m.guid), [old['latest']!.guid, old['reply']!.guid, old['hello']!.guid]);
    assert.deepEqual(r.messages.map((m) => m.kind), ['message', 'from_me', 'message']);
    assert.equal(r.messages[0]!.chat?.id, dmId);
    const hello = r.messages[2]!;
    assert.deepEqual(hello.reactions.map((x) => [x.reaction, x.sender, x.from_me]), [['love', ALICE, false], ['love', null, true]]);
    assert.deepEqual(r.messages[1]!.reactions, [], 'a like taken back is not listed');
    // Bounds: start inclusive, end exclusive; the limit counts messages only.
    const win = await json<{ messages: Msg[] }>(await env.api(`/v1/chats/${dmId}/messages?start=${new Date(t0 + 60_000).toISOString()}&end=${new Date(t0 + 200_000).toISOString()}`));
    assert.deepEqual(win.messages.map((m) => m.guid), [old['reply']!.guid]);
    const lim = await json<{ messages: Msg[] }>(await env.api(`/v1/chats/${dmId}/messages?limit=2`));
    assert.deepEqual(lim.messages.map((m) => m.guid), [old['latest']!.guid, old['reply']!.guid]);
  });

  it('refuses an unknown chat id (404 UNKNOWN_CHAT) and an unparseable date (400 naming it)', async () => {
    const unknown = await json<{ error: { code: string } }>(await env.api('/v1/chats/987654/messages'), 404);
    assert.equal(unknown.error.code, 'UNKNOWN_CHAT');
    const badStart = await json<{ error: { code: string; message: string } }>(await env.api(`/v1/chats/${dmId}/messages?start=yesterday`), 400);
    assert.equal(badStart.error.code, 'BAD_REQUEST');
    assert.match(badStart.error.message, /^start /);
    const badEnd = await json<{ error: { code: string; message: string } }>(await env.api(`/v1/chats/${dmId}/messages?end=2026-13-45Tnope`), 400);
    assert.match(badEnd.error.message, /^end /);
  });

  it('feeds rows strictly ascending: a from-me row still changing holds back the higher incoming row behind it', async () => {
    const start = await json<Feed>(await env.api('/v1/rows'));
    assert.deepEqual(start.rows, []);
    const poll = env.api(`/v1/rows?after=${start.next}&wait=30`);
    const w = env.writer;
    // My own row from another device, whose content keeps changing (Messages updating it), then Alice's answer.
    const mine = w.insert({ chat: DM, handle: ALICE, fromMe: true, text: 'typing on my phone v0' });
    const hers = w.insert({ chat: DM, handle: ALICE, text: 'answer from alice' });
    assert.ok(hers.rowid > mine.rowid);
    for (let i = 1; i <= 16; i++) {
      w.update(mine.rowid, { text: `typing on my phone v${i}` });
      await new Promise((r) => setTimeout(r, 50));
    }
    const first = await json<Feed>(await poll);
    assert.equal(first.rows[0]?.rowid, mine.rowid, `the lower row first, got ${JSON.stringify(first.rows.map((x) => x.rowid))}`);
    assert.equal(first.rows[0]?.kind, 'from_me');
    let rows = first.rows;
    let next = first.next;
    while (!rows.some((x) => x.rowid === hers.rowid)) {
      const more = await json<Feed>(await env.api(`/v1/rows?after=${next}&wait=30`));
      rows = [...rows, ...more.rows];
      next = more.next;
    }
    assert.deepEqual(rows.map((x) => x.rowid), [mine.rowid, hers.rowid]);
    assert.equal(next, hers.rowid);
    // A tapback row is a row too; every answer ascends, each above its cursor.
    const tap = w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${hers.guid}`, associatedType: 2001, text: 'Liked' });
    const t = await json<Feed>(await env.api(`/v1/rows?after=${next}&wait=30`));
    assert.deepEqual(t.rows.map((x) => [x.kind, x.rowid]), [['reaction', tap.rowid]]);
    // From the start of what is retained: all three, oldest first; a cursor past every row is live from now.
    const all = await json<Feed>(await env.api('/v1/rows?after=-1&limit=500'));
    assert.deepEqual(all.rows.map((x) => x.rowid), [mine.rowid, hers.rowid, tap.rowid]);
    const ahead = await json<Feed>(await env.api(`/v1/rows?after=${tap.rowid + 1000}&wait=5`));
    assert.deepEqual(ahead, { rows: [], next: tap.rowid });
  });

  it('a long-poll is woken by the row it waits for, not by its timeout', async () => {
    const { next } = await json<Feed>(await env.api('/v1/rows'));
    const began = Date.now();
    const poll = env.api(`/v1/rows?after=${next}&wait=60`);
    const row = env.writer.insert({ chat: GROUP, handle: BOB, text: 'wake up' });
    const got = await json<Feed>(await poll);
    assert.deepEqual(got.rows.map((x) => x.rowid), [row.rowid]);
    assert.ok(Date.now() - began < 30_000, 'answered when the row came');
  });

  it('a waiting send to a chat id answers with the row it made; that row comes back from-me with the command id', async () => {
    const { next } = await json<Feed>(await env.api('/v1/rows'));
    const res = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: dmId, text: 'sent by the assistant', wait: 30 }) });
    const sent = await json<{ id: string; status: string; rowid: number; apple_guid: string; chat_id: number; chat_guid: string; service: string }>(res);
    assert.ok(['sent', 'delivered'].includes(sent.status), sent.status);
    assert.equal(sent.chat_id, dmId);
    assert.equal(sent.chat_guid, DM);
    assert.equal(sent.service, 'iMessage');
    const row = env.writer.db.prepare('SELECT ROWID AS rowid, guid FROM message WHERE text = ?').get('sent by the assistant') as { rowid: number; guid: string };
    assert.deepEqual([sent.rowid, sent.apple_guid], [row.rowid, row.guid]);
    let rows: Row[] = [];
    let cursor = next;
    while (!rows.some((x) => x.rowid === sent.rowid)) {
      const f = await json<Feed>(await env.api(`/v1/rows?after=${cursor}&wait=30`));
      rows = [...rows, ...f.rows];
      cursor = f.next;
    }
    const echo = rows.find((x) => x.rowid === sent.rowid)!;
    assert.equal(echo.kind, 'from_me');
    assert.equal(echo.guid, sent.apple_guid);
    assert.equal(echo.command_id, sent.id);
    assert.ok(!rows.some((x) => x.kind === 'message' && x.guid === sent.apple_guid), 'never an incoming message');
    const shown = await json<{ rowid: number }>(await env.api(`/v1/messages/${sent.id}`));
    assert.equal(shown.rowid, sent.rowid);
  });

  it('a waiting send by chat identifier, and the errors: unknown chat 404, a failed send 502 SEND_FAILED', async () => {
    const ok = await json<{ chat_id: number; status: string }>(await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_identifier: 'chat555000000000000009', text: 'to the crew', wait: 30 }) }));
    assert.equal(ok.chat_id, groupId);
    assert.equal(ok.status, 'sent');
    const unknown = await json<{ error: { code: string } }>(await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: 424242, text: 'nowhere', wait: 10 }) }), 404);
    assert.equal(unknown.error.code, 'UNKNOWN_CHAT');
    assert.equal(sendsOf(env, 'nowhere'), 0);
    env.messages({ outcome: 'error:22', sentAfterMs: 50 });
    const failed = await json<{ error: { code: string; message: string } }>(await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: dmId, text: 'will fail', wait: 30 }) }), 502);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    assert.equal(failed.error.code, 'SEND_FAILED');
    assert.match(failed.error.message, /MESSAGES_ERROR_22/);
    const bad = await json<{ error: { code: string } }>(await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: dmId, handle: ALICE, text: 'two targets', wait: 30 }) }), 400);
    assert.equal(bad.error.code, 'BAD_REQUEST');
  });

  it('with the relay offline: chats and history from the hub, and a waiting send is refused at once with nothing queued', async () => {
    // A row the hub holds (an event), with a tapback on it, in the DM.
    const { next } = await json<Feed>(await env.api('/v1/rows'));
    const live = env.writer.insert({ chat: DM, handle: ALICE, text: 'kept by the hub', dateMs: Date.now() });
    const tap = env.writer.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${live.guid}`, associatedType: 2005, text: 'Questioned' });
    let cursor = next;
    while (cursor < tap.rowid) cursor = (await json<Feed>(await env.api(`/v1/rows?after=${cursor}&wait=30`))).next;
    await env.mac!.stop();
    env.mac = null;
    await waitForHealth(env);
    const chats = await json<{ chats: Array<{ id: number; guid: string }>; source: string }>(await env.api('/v1/chats'));
    assert.equal(chats.source, 'hub');
    assert.equal(chats.chats.find((c) => c.guid === DM)?.id, dmId);
    assert.equal(chats.chats.find((c) => c.guid === GROUP)?.id, groupId);
    const hist = await json<{ messages: Msg[]; source: string }>(await env.api(`/v1/chats/${dmId}/messages?limit=3`));
    assert.equal(hist.source, 'hub');
    assert.equal(hist.messages[0]!.guid, live.guid);
    assert.deepEqual(hist.messages[0]!.reactions.map((x) => [x.reaction, x.rowid]), [['question', tap.rowid]]);
    assert.ok(!hist.messages.some((m) => m.kind === 'reaction'));
    const began = Date.now();
    const off = await json<{ error: { code: string } }>(await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: dmId, text: 'while offline', wait: 30 }) }), 503);
    assert.equal(off.error.code, 'RELAY_OFFLINE');
    assert.ok(Date.now() - began < 2000, 'at once');
    // Back online: a later send goes out and the refused one never does (commands run in order).
    await env.startMac();
    await env.mac!.waitForLog(/^link up$/);
    await json(await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: dmId, text: 'after coming back', wait: 30 }) }));
    assert.equal(sendsOf(env, 'after coming back'), 1);
    assert.equal(sendsOf(env, 'while offline'), 0);
  });
});

/** Waits until the hub's health says the relay is not connected. */
async function waitForHealth(env: RelayEnv): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    const h = await (await env.api('/health')).json() as { components: { relays: { state: string } } };
    if (h.components.relays.state !== 'ok') return;
    if (Date.now() > until) throw new Error('the hub still shows the relay connected');
    await new Promise((r) => setTimeout(r, 50));
  }
}


