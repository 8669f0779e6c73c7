// Contract §11 scenarios 24–35: chats.list, messages.history and the watch (live, replay from each
// kind of since_rowid, reactions, attachments, unsubscribe) — against a real hub + relay + simulated
// Messages with the §11 fixture in chat.db.
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DM7, GROUP9, ImsgEnv, PHOTO_BYTES } from '../support/imsg-env.js';
import type { ImsgProcess, Msg } from '../support/imsg-process.js';
import { assertMessageShape } from '../support/imsg-shape.js';

describe('imsg-relay: methods and the watch (contract §11, 24–35)', () => {
  const env = new ImsgEnv();
  /** Every row of chat.db in this file, ascending: [id, is a tapback]. */
  const rows: Array<[number, boolean]> = [[101, false], [102, false], [103, false], [104, false], [105, true]];
  before(async () => { await env.start(); });
  after(async () => { await env.stop(); });

  const live = (text: string): { rowid: number; guid: string } => {
    const r = env.inbound(text);
    rows.push([r.rowid, false]);
    return r;
  };
  /** Waits for row `last`, then checks the subscription's whole stream equals `want`, each message well-formed. */
  const stream = async (p: ImsgProcess, last: number, want: number[]): Promise<Msg[]> => {
    await p.message(last);
    const got = p.messages();
    assert.deepEqual(got.map((m) => m.id), want);
    for (const m of got) assertMessageShape(m);
    return got;
  };
  const after_ = (n: number, reactions = true): number[] => rows.filter(([id, tap]) => id > n && (reactions || !tap)).map(([id]) => id);

  it('24: chats.list {limit:20}: chats 7 and 9, newest activity first, every field of the right type', async () => {
    const p = env.spawn();
    const r = await p.request('chats.list', { limit: 20 });
    await p.close();
    const chats = r.result!['chats'] as Array<Record<string, unknown>>;
    assert.deepEqual(chats.map((c) => c['id']).sort(), [7, 9]);
    for (const c of chats) {
      for (const k of ['identifier', 'guid', 'name', 'service']) assert.equal(typeof c[k], 'string', `${k} of ${JSON.stringify(c)}`);
      assert.ok(Number.isInteger(c['id']));
      assert.ok(!Number.isNaN(Date.parse(c['last_message_at'] as string)) && /T.*(Z|[+-]\d\d:?\d\d)$/.test(c['last_message_at'] as string));
      assert.ok(Array.isArray(c['participants']) && (c['participants'] as unknown[]).every((x) => typeof x === 'string'));
    }
    const seven = chats.find((c) => c['id'] === 7)!;
    const nine = chats.find((c) => c['id'] === 9)!;
    assert.deepEqual([seven['guid'], seven['identifier'], seven['is_group'], seven['participants']], [DM7.guid, DM7.identifier, false, [DM7.handle]]);
    assert.deepEqual([nine['guid'], nine['identifier'], nine['is_group'], nine['name'], [...(nine['participants'] as string[])].sort()], [GROUP9.guid, GROUP9.identifier, true, 'Team', [...GROUP9.members].sort()]);
    const dates = chats.map((c) => Date.parse(c['last_message_at'] as string));
    assert.deepEqual(dates, [...dates].sort((a, b) => b - a), 'most recent activity first');
  });

  it('25: messages.history {chat_id:7, limit:2}: 104 and 102 (the tapback 105 not listed); 101 carries its love', async () => {
    const p = env.spawn();
    const r = await p.request('messages.history', { chat_id: 7, limit: 2 });
    const all = await p.request('messages.history', { chat_id: 7, limit: 50 });
    await p.close();
    const msgs = r.result!['messages'] as Msg[];
    assert.deepEqual(msgs.map((m) => m.id), [104, 102]);
    for (const m of msgs) assertMessageShape(m);
    assert.deepEqual(msgs.map((m) => [m.guid, m.is_from_me, m.text]), [['G-104', false, 'four'], ['G-102', true, 'two']]);
    const list = all.result!['messages'] as Msg[];
    assert.ok(!list.some((m) => m.id === 105), 'reaction rows are not messages');
    const one = list.find((m) => m.id === 101)!;
    assertMessageShape(one);
    const reactions = one['reactions'] as Array<Record<string, unknown>>;
    assert.equal(reactions.length, 1);
    assert.equal(reactions[0]!['type'], 'love');
    assert.equal(reactions[0]!['sender'], DM7.handle);
    assert.equal(reactions[0]!['is_from_me'], false);
  });

  it('26: messages.history with start (now − 3 min): only rows dated at or after it', async () => {
    const start = new Date(Date.now() - 3 * 60_000).toISOString();
    const p = env.spawn();
    const r = await p.request('messages.history', { chat_id: 7, limit: 50, start });
    const bad = await p.request('messages.history', { chat_id: 7, start: 'yesterday-ish' });
    await p.close();
    const msgs = r.result!['messages'] as Msg[];
    assert.ok(msgs.some((m) => m.id === 104));
    assert.deepEqual(msgs.filter((m) => m.id <= 105).map((m) => m.id), [104]);
    for (const m of msgs) assert.ok(Date.parse(m['created_at'] as string) >= Date.parse(start));
    assert.equal(bad.error!.code, -32602, 'an unparseable start is an error');
  });

  it('27: messages.history attachments:true: 104 has its photo under the attachment root, bytes intact; without it, none', async () => {
    const p = env.spawn();
    const r = await p.request('messages.history', { chat_id: 7, limit: 5, attachments: true });
    const plain = await p.request('messages.history', { chat_id: 7, limit: 5 });
    await p.close();
    const m = (r.result!['messages'] as Msg[]).find((x) => x.id === 104)!;
    const a = (m['attachments'] as Array<Record<string, unknown>>)[0]!;
    const path = a['original_path'] as string;
    assert.ok(isAbsolute(path) && path.startsWith(`${env.attachmentsRoot}/`), path);
    assert.ok(lstatSync(path).isFile() && !lstatSync(path).isSymbolicLink());
    assert.deepEqual(readFileSync(path), PHOTO_BYTES);
    assert.equal(a['mime_type'], 'image/jpeg');
    assert.equal(a['missing'], false);
    const without = (plain.result!['messages'] as Msg[]).find((x) => x.id === 104)!;
    assert.deepEqual(without['attachments'] ?? [], []);
  });

  it('28, 31: live subscribe (since_rowid omitted, or 0): no replay; a new row comes as exactly one message line', async () => {
    for (const since of [undefined, 0]) {
      const p = env.spawn();
      const s = await p.subscribe({ attachments: false, include_reactions: true, ...(since === undefined ? {} : { since_rowid: since }) });
      const row = live(`six ${since ?? 'omitted'}`);
      const line = await p.waitFor((l) => l.method === 'message', 'the live row');
      assert.equal('id' in line, false, 'a notification has no id member');
      const params = line.params as { subscription: number; message: Msg };
      assert.equal(params.subscription, s);
      assert.deepEqual({ ...params.message, created_at: 'x' }, {
        ...params.message, id: row.rowid, chat_id: 7, guid: row.guid, sender: DM7.handle, is_from_me: false, text: `six ${since ?? 'omitted'}`, created_at: 'x',
      });
      await stream(p, row.rowid, [row.rowid]);
      await p.close();
    }
  });

  it('29: since_rowid 102: 103, 104, 105 (and later rows) in order, then live', async () => {
    const p = env.spawn();
    await p.subscribe({ attachments: false, include_reactions: true, since_rowid: 102 });
    await p.message(105);
    const row = live('after replay 29');
    const got = await stream(p, row.rowid, after_(102));
    assert.deepEqual(got.slice(0, 3).map((m) => m.guid), ['G-103', 'G-104', 'G-105']);
    const g103 = got[0]!;
    assert.deepEqual([g103.chat_id, g103['is_group'], g103['sender'], g103['chat_name'], g103['chat_guid']], [9, true, '+15559870000', 'Team', GROUP9.guid]);
    await p.close();
  });

  it('30: since_rowid −1: every retained row from 101 ascending, then live', async () => {
    const p = env.spawn();
    await p.subscribe({ attachments: false, include_reactions: true, since_rowid: -1 });
    await p.message(rows[rows.length - 1]![0]);
    const row = live('after replay 30');
    await stream(p, row.rowid, after_(100));
    await p.close();
  });

  it('32: since_rowid above every id: no replay, a new row still comes live', async () => {
    const p = env.spawn();
    await p.subscribe({ attachments: false, include_reactions: true, since_rowid: 999_999_999 });
    const row = live('live after 999999999');
    await stream(p, row.rowid, [row.rowid]);
    await p.close();
  });

  it('33: include_reactions false never emits 105; true emits it as a love on G-101', async () => {
    const p = env.spawn();
    await p.subscribe({ attachments: false, include_reactions: false, since_rowid: 100 });
    const row = live('marker 33');
    await stream(p, row.rowid, after_(100, false));
    await p.close();
    const q = env.spawn();
    await q.subscribe({ attachments: false, include_reactions: true, since_rowid: 104 });
    const tap = await q.message(105);
    await q.close();
    assertMessageShape(tap);
    assert.deepEqual([tap['is_reaction'], tap['reaction_type'], tap['is_reaction_add'], tap['reacted_to_guid'], tap.guid, tap.chat_id], [true, 'love', true, 'G-101', 'G-105', 7]);
  });

  it('34: attachments:true on subscribe: 104 names its photo, on disk before the line was written', async () => {
    rmSync(env.attachmentsRoot, { recursive: true, force: true }); // fetched anew by this watch
    const p = env.spawn();
    await p.subscribe({ attachments: true, include_reactions: true, since_rowid: 103 });
    const m = await p.message(104);
    const a = (m['attachments'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(a['missing'], false);
    assert.equal(a['mime_type'], 'image/jpeg');
    assert.equal(p.filesAtLine.get(a['original_path'] as string), true, 'the file existed when the line arrived');
    assert.deepEqual(readFileSync(a['original_path'] as string), PHOTO_BYTES);
    await p.close();
  });

  it('34: an attachment whose bytes never come is named missing:true, without a path, and the message still comes', async () => {
    const p = env.spawn();
    await p.subscribe({ attachments: true, include_reactions: true });
    const w = env.relay.writer;
    const row = w.db.transaction(() => {
      const r = w.insert({ chat: DM7.guid, handle: DM7.handle, text: 'see attached' });
      w.attach(r.rowid, { guid: 'at_0_NEVER', filename: join(env.dir, 'Messages', 'Attachments', 'in', 'never.jpg'), name: 'never.jpg', mimeType: 'image/jpeg', bytes: 10 });
      return r;
    })();
    rows.push([row.rowid, false]);
    const m = await p.message(row.rowid, 30_000);
    assertMessageShape(m);
    assert.equal(m.text, 'see attached');
    const a = (m['attachments'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(a['missing'], true);
    assert.equal('original_path' in a, false);
    await p.close();
  });

  it('35: unsubscribe answers ok (also for unknown ids) and no line follows for that subscription', async () => {
    const p = env.spawn();
    const s1 = await p.subscribe({ attachments: false, include_reactions: true });
    const s2 = await p.subscribe({ attachments: false, include_reactions: true });
    assert.deepEqual((await p.request('watch.unsubscribe', { subscription: s1 })).result, { ok: true });
    const unsubscribedAt = p.lines.length;
    assert.deepEqual((await p.request('watch.unsubscribe', { subscription: 4242 })).result, { ok: true });
    const row = live('after unsubscribe');
    await p.waitFor((l) => l.method === 'message' && (l.params as { subscription: number }).subscription === s2 && (l.params as { message: Msg }).message.id === row.rowid, 'the row on the other subscription');
    await p.request('chats.list', { limit: 1 }); // one more round trip through the process
    assert.deepEqual(p.lines.slice(unsubscribedAt).filter((l) => (l.params as { subscription?: number } | undefined)?.subscription === s1), []);
    await p.close();
  });
});
