// The reader against chat.db built from Apple's real schemas (macOS 15 and 26) and from the
// project's own, a writer that behaves like Messages kept open in WAL mode, and the real watcher.
// What needs Apple's material (its schemas, plists, blobs) skips test by test when it is absent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromMeEvent, MessageEvent, RelayEvent } from '../../relay/model/events.js';
import type { MessagesDb } from '../../relay/simulator/messages-db.js';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';
import { fixture, needsFixtures, schemasToRun } from '../support/fixtures.js';
import { makeMessagesDb, sleep, startReader, tempDir, waitFor, type StartedReader } from '../support/chatdb-env.js';

const ALICE = '+15555550123';
const BOB = 'bob@example.com';
const DM = `iMessage;-;${ALICE}`;
const GROUP = 'iMessage;+;chat482715093361249187';

/** Inserts rows from a separate process, as Messages does (no shared SQLite state with the reader). */
function writeRowsInChildProcess(path: string, chat: string, handle: string, texts: string[]): string[] {
  const script = fileURLToPath(new URL('../support/write-rows.ts', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script, path, chat, handle, ...texts], { encoding: 'utf8' })) as string[];
}

for (const { schema, skip } of schemasToRun('minimal', 'macos15', 'macos26')) {
  describe(`chat.db reader on the ${schema} schema`, () => {
    let tmp: ReturnType<typeof tempDir>;
    let w: MessagesDb;
    let r: StartedReader;
    const settleMs = 150;
    let dmId = 0;

    before(() => {
      if (skip !== false) return;
      tmp = tempDir();
      w = makeMessagesDb(tmp.dir, schema);
      dmId = w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      w.chat({ guid: GROUP, identifier: 'chat482715093361249187', group: true, name: 'Weekend crew', participants: [ALICE, BOB] });
      r = startReader(w.path, { startAfter: 'end', reader: { settleMs }, homeDir: tmp.dir });
    });
    after(() => { if (skip !== false) return; r.stop(); w.close(); tmp.cleanup(); });

    const arrived = async (guid: string, kind: RelayEvent['kind'] = 'message'): Promise<RelayEvent> => {
      await waitFor(() => r.out.events.some((e) => e.guid === guid && e.kind === kind), `${kind} ${guid}`);
      return r.out.events.find((e) => e.guid === guid && e.kind === kind)!;
    };
    /** Inserts a row and waits for it: every poll that could still emit something for earlier rows has run. */
    const marker = async (): Promise<void> => { await arrived(w.insert({ chat: DM, handle: ALICE, text: 'marker' }).guid); };

    it('emits a message whose text is only in the text column', { skip }, async () => {
      const { guid, rowid } = w.insert({ chat: DM, handle: ALICE, text: 'plain column text' });
      const e = (await arrived(guid)) as MessageEvent;
      assert.equal(e.text, 'plain column text');
      assert.equal(e.rowid, rowid);
      assert.equal(e.sender, ALICE);
      assert.ok(dmId > 0);
      assert.deepEqual(e.chat, { guid: DM, id: dmId, identifier: ALICE, name: null, is_group: false, participants: [ALICE] });
      assert.equal(e.backlog, false);
      assert.equal(e.decode_error, null);
      assert.match(e.date!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('emits a message whose text is only in attributedBody, with its mentions', { skip }, async () => {
      const body = encodeAttributedBody('hey @Bob look', [{ length: 4 }, { length: 4, mention: BOB }, { length: 5 }]);
      const { guid } = w.insert({ chat: DM, handle: ALICE, text: null, body });
      const e = (await arrived(guid)) as MessageEvent;
      assert.equal(e.text, 'hey @Bob look');
      assert.deepEqual(e.mentions, [{ handle: BOB, text: '@Bob' }]);
    });

    it('emits a group message with its name and participants', { skip }, async () => {
      const { guid } = w.insert({ chat: GROUP, handle: BOB, body: encodeAttributedBody('group hello') });
      const e = (await arrived(guid)) as MessageEvent;
      assert.equal(e.sender, BOB);
      assert.equal(e.chat?.is_group, true);
      assert.equal(e.chat?.name, 'Weekend crew');
      assert.deepEqual([...e.chat!.participants].sort(), [ALICE, BOB].sort());
    });

    it('emits tapbacks: added, removed, and a custom emoji', { skip }, async () => {
      const target = w.insert({ chat: DM, handle: ALICE, text: 'react to me' });
      await arrived(target.guid);
      const love = w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${target.guid}`, associatedType: 2000, text: 'Loved “react to me”' });
      const e1 = await arrived(love.guid, 'reaction');
      assert.deepEqual({ ...e1, date: null, rowid: 0, chat: null }, {
        kind: 'reaction', rowid: 0, guid: love.guid, date: null, service: 'iMessage', sender: ALICE, chat: null, backlog: false,
        reaction: 'love', emoji: null, removed: false, target_guid: target.guid, target_part: 0,
      });
      w.delete(love.rowid);
      const removed = w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${target.guid}`, associatedType: 3000 });
      const e2 = await arrived(removed.guid, 'reaction');
      assert.equal(e2.kind === 'reaction' && e2.removed, true);
      const emoji = w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${target.guid}`, associatedType: 2006, emoji: '🔥' });
      const e3 = await arrived(emoji.guid, 'reaction');
      assert.equal(e3.kind === 'reaction' && e3.reaction, 'emoji');
      assert.equal(e3.kind === 'reaction' && e3.emoji, '🔥');
    });

    it('emits an edit with the new text, and an unsend (Apple\'s message_summary_info plists)', { skip: skip || needsFixtures }, async () => {
      const msg = w.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('First message  ') });
      await arrived(msg.guid);
      w.update(msg.rowid, { attributedBody: encodeAttributedBody('Edited message'), message_summary_info: fixture('message-summary-info', 'Edited.plist'), date_edited: BigInt(Date.now() - 978_307_200_000) * 1_000_000n });
      const edit = await arrived(msg.guid, 'edit');
      assert.equal(edit.kind === 'edit' && edit.text, 'Edited message');
      assert.match(edit.kind === 'edit' ? edit.edited_at ?? '' : '', /^20\d\d-/);
      const gone = w.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('oops wrong chat') });
      await arrived(gone.guid);
      w.update(gone.rowid, { attributedBody: null, text: null, message_summary_info: fixture('message-summary-info', 'Deleted.plist'), date_edited: BigInt(Date.now() - 978_307_200_000) * 1_000_000n });
      const unsend = await arrived(gone.guid, 'unsend');
      assert.match(unsend.kind === 'unsend' ? unsend.unsent_at ?? '' : '', /^20\d\d-/);
      await marker();
      assert.equal(r.out.events.filter((e) => e.guid === msg.guid && e.kind === 'edit').length, 1, 'one edit, not repeated');
      assert.equal(r.out.events.filter((e) => e.guid === gone.guid && e.kind !== 'message').length, 1, 'only the unsend');
    });

    it('emits a from-me row as from_me, then its delivery, read and failure changes', { skip }, async () => {
      const mine = w.insert({ chat: DM, fromMe: true, handle: ALICE, body: encodeAttributedBody('on my way') });
      const e = (await arrived(mine.guid, 'from_me')) as FromMeEvent;
      assert.equal(e.sender, null);
      assert.equal(e.is_sent, false);
      assert.equal(e.text, 'on my way');
      w.update(mine.rowid, { is_sent: 1, is_finished: 1 });
      await waitFor(() => r.out.events.some((x) => x.guid === mine.guid && x.kind === 'delivery' && x.status === 'sent'), 'sent');
      w.update(mine.rowid, { is_delivered: 1, date_delivered: BigInt(Date.now() - 978_307_200_000) * 1_000_000n });
      await waitFor(() => r.out.events.some((x) => x.guid === mine.guid && x.kind === 'delivery' && x.status === 'delivered'), 'delivered');
      w.update(mine.rowid, { date_read: BigInt(Date.now() - 978_307_200_000) * 1_000_000n, is_read: 1 });
      await waitFor(() => r.out.events.some((x) => x.guid === mine.guid && x.kind === 'delivery' && x.status === 'read'), 'read');
      const bad = w.insert({ chat: DM, fromMe: true, handle: ALICE, body: encodeAttributedBody('never arrives') });
      await arrived(bad.guid, 'from_me');
      w.update(bad.rowid, { error: 22, is_finished: 1 });
      await waitFor(() => r.out.events.some((x) => x.guid === bad.guid && x.kind === 'delivery' && x.status === 'failed' && x.error === 22), 'failed');
      await marker();
      assert.deepEqual(r.out.events.filter((x) => x.guid === mine.guid).map((x) => (x.kind === 'delivery' ? `delivery:${x.status}` : x.kind)),
        ['from_me', 'delivery:sent', 'delivery:delivered', 'delivery:read'], 'each change once, in order; never a message');
    });

    it('never emits as incoming a row whose is_from_me flips within the settle window', { skip }, async () => {
      const row = w.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('echo of my own reply') });
      await sleep(settleMs / 3);
      w.update(row.rowid, { is_from_me: 1 });
      await arrived(row.guid, 'from_me');
      await marker();
      assert.deepEqual(r.out.events.filter((x) => x.guid === row.guid).map((x) => x.kind), ['from_me'], 'only ever the from-me event');
    });

    it('includes an attachment joined 300 ms after its message (with a 500 ms settle window)', { skip }, async () => {
      const tmp2 = tempDir();
      const w2 = makeMessagesDb(tmp2.dir, schema);
      w2.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      const r2 = startReader(w2.path, { startAfter: 'end', reader: { settleMs: 500 }, homeDir: tmp2.dir });
      try {
        const file = join(tmp2.dir, 'Library', 'photo.jpeg');
        const row = w2.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('\uFFFC', [{ length: 1, fileTransferGuid: 'at_0_PHOTO' }]) });
        await sleep(300);
        w2.attach(row.rowid, { guid: 'at_0_PHOTO', filename: '~/Library/photo.jpeg', mimeType: 'image/jpeg', uti: 'public.jpeg', bytes: 1234 });
        await waitFor(() => r2.out.events.some((e) => e.guid === row.guid), 'message with attachment', 5000);
        const e = r2.out.events.find((x) => x.guid === row.guid) as MessageEvent;
        assert.equal(r2.out.events.filter((x) => x.guid === row.guid).length, 1);
        assert.equal(e.text, '');
        assert.deepEqual(e.attachments, [{ guid: 'at_0_PHOTO', name: 'photo.jpeg', mime_type: 'image/jpeg', uti: 'public.jpeg', bytes: 1234, path: file, missing: true }]);
      } finally {
        r2.stop(); w2.close(); tmp2.cleanup();
      }
    });

    it('a corrupt body gives text null and a decode_error; the next row is unaffected', { skip }, async () => {
      const whole = encodeAttributedBody('a body cut short by a bad write');
      const bad = w.insert({ chat: DM, handle: ALICE, text: null, body: whole.subarray(0, whole.length - 12) });
      const good = w.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('still fine') });
      const e = (await arrived(bad.guid)) as MessageEvent;
      assert.equal(e.text, null);
      assert.equal(e.decode_error?.code, 'TS_TRUNCATED');
      assert.equal(typeof e.decode_error?.offset, 'number');
      assert.equal(((await arrived(good.guid)) as MessageEvent).text, 'still fine');
    });

    it('marks rows dated long before they were first seen as backlog', { skip }, async () => {
      const old = w.insert({ chat: DM, handle: ALICE, text: 'from last year', dateMs: Date.now() - 365 * 24 * 3600_000 });
      const fresh = w.insert({ chat: DM, handle: ALICE, text: 'just now' });
      const recent = w.insert({ chat: DM, handle: ALICE, text: 'ten minutes ago (inside the default 15-minute fence)', dateMs: Date.now() - 10 * 60_000 });
      assert.equal((await arrived(old.guid)).backlog, true);
      assert.equal((await arrived(fresh.guid)).backlog, false);
      assert.equal((await arrived(recent.guid)).backlog, false);
    });

    it('emits group events: renamed and member added', { skip }, async () => {
      const ren = w.insert({ chat: GROUP, handle: BOB, itemType: 2, groupTitle: 'Hiking' });
      const add = w.insert({ chat: GROUP, handle: BOB, itemType: 1, groupActionType: 0, otherHandle: '+447700900123' });
      const e1 = await arrived(ren.guid, 'group');
      const e2 = await arrived(add.guid, 'group');
      assert.deepEqual(e1.kind === 'group' && [e1.action, e1.name, e1.sender], ['renamed', 'Hiking', BOB]);
      assert.deepEqual(e2.kind === 'group' && [e2.action, e2.member], ['member_added', '+447700900123']);
    });
  });
}

describe('chat.db reader under load and failure', () => {
  for (const { schema, skip } of schemasToRun('minimal', 'macos26')) {
    it(`a 10,000-row burst arrives complete and in ROWID order (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const w = makeMessagesDb(tmp.dir, schema);
      w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      const r = startReader(w.path, { startAfter: 'end', reader: { settleMs: 100 } });
      try {
        const body = encodeAttributedBody('burst');
        const guids: string[] = [];
        const insertMany = w.db.transaction((n: number) => { for (let i = 0; i < n; i++) guids.push(w.insert({ chat: DM, handle: ALICE, body, text: `m${i}` }).guid); });
        for (let i = 0; i < 10; i++) insertMany(1000);
        await waitFor(() => r.out.events.length >= 10_000, '10,000 events', 20_000);
        // A row written after the burst arrives last: nothing of the burst is still to come.
        const last = w.insert({ chat: DM, handle: ALICE, text: 'after the burst' });
        await waitFor(() => r.out.events.some((e) => e.guid === last.guid), 'the row after the burst');
        assert.deepEqual(r.out.events.map((e) => e.guid), [...guids, last.guid], 'each once, in ROWID order');
      } finally {
        r.stop(); w.close(); tmp.cleanup();
      }
    });
  }

  for (const { schema, skip } of schemasToRun('minimal', 'macos15')) {
    it(`keeps seeing rows after wal_checkpoint(TRUNCATE) and after the WAL is deleted and recreated (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const w = makeMessagesDb(tmp.dir, schema);
      w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      // The steady poll is set far out of reach: only the directory watch can bring these rows in time.
      const r = startReader(w.path, { startAfter: 'end', reader: { settleMs: 100 }, watcher: { pollIntervalMs: 120_000 } });
      try {
        const a = w.insert({ chat: DM, handle: ALICE, text: 'before checkpoint' });
        await waitFor(() => r.out.events.some((e) => e.guid === a.guid), 'first row', 10_000);
        w.db.pragma('wal_checkpoint(TRUNCATE)');
        const b = w.insert({ chat: DM, handle: ALICE, text: 'after checkpoint' });
        await waitFor(() => r.out.events.some((e) => e.guid === b.guid), 'row after checkpoint (the watch still hears)', 10_000);
        // Messages quits and its WAL files are removed; Messages (its own process) starts again.
        w.db.pragma('wal_checkpoint(TRUNCATE)');
        w.close();
        const { rmSync } = await import('node:fs');
        rmSync(`${w.path}-wal`, { force: true });
        rmSync(`${w.path}-shm`, { force: true });
        const [cGuid] = writeRowsInChildProcess(w.path, DM, ALICE, ['after WAL recreated']);
        await waitFor(() => r.out.events.some((e) => e.guid === cGuid), 'row after WAL recreated (the watch still hears)', 10_000);
        assert.ok(r.watcher.events > 0);
      } finally {
        r.stop(); tmp.cleanup();
      }
    });

    it(`with the watcher dead from the start, rows are still seen by the steady poll (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const w = makeMessagesDb(tmp.dir, schema);
      w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      const { EventEmitter } = await import('node:events');
      const deaf = (() => Object.assign(new EventEmitter(), { close: () => undefined })) as unknown as typeof import('node:fs').watch;
      // The exact schedule is held by watcher.test.ts under a fake clock; here, the real thing on a real file.
      const r = startReader(w.path, { startAfter: 'end', reader: { settleMs: 100 }, watcher: { pollIntervalMs: 150 }, watch: deaf });
      try {
        const a = w.insert({ chat: DM, handle: ALICE, text: 'nobody told the watcher' });
        await waitFor(() => r.out.events.some((e) => e.guid === a.guid), 'row via poll', 4000);
        assert.equal(r.watcher.events, 0);
        // The configured interval is used (not the 1 s default): ten more polls come in well under 10 s.
        const t0 = Date.now();
        const n = r.polls.length;
        await waitFor(() => r.polls.length >= n + 10, 'ten more polls', 20_000);
        assert.ok(Date.now() - t0 < 10 * 1000 * 0.6, `ten polls took ${Date.now() - t0} ms at a 150 ms interval`);
      } finally {
        r.stop(); w.close(); tmp.cleanup();
      }
    });

    it(`rows written while the reader was stopped are emitted after a restart from the saved cursor (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const w = makeMessagesDb(tmp.dir, schema);
      w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      w.insert({ chat: DM, handle: ALICE, text: 'history before the relay existed' });
      let r = startReader(w.path, { startAfter: 'end', reader: { settleMs: 50 } });
      try {
        const a = w.insert({ chat: DM, handle: ALICE, text: 'one' });
        await waitFor(() => r.out.events.some((e) => e.guid === a.guid), 'first');
        r.stop();
        const saved = JSON.parse(JSON.stringify(r.out.state));
        const seen = r.out.events.length;
        const b = w.insert({ chat: DM, handle: ALICE, text: 'two (while stopped)' });
        const c = w.insert({ chat: DM, handle: ALICE, text: 'three (while stopped)' });
        r = startReader(w.path, { state: saved, reader: { settleMs: 50 }, out: r.out });
        await waitFor(() => r.out.events.some((e) => e.guid === c.guid), 'rows written while stopped');
        assert.deepEqual(r.out.events.slice(seen).map((e) => e.guid), [b.guid, c.guid]);
        assert.equal(r.out.events.filter((e) => e.kind === 'message' && e.text?.startsWith('history')).length, 0, 'history is not replayed');
      } finally {
        r.stop(); w.close(); tmp.cleanup();
      }
    });

    it(`reports chat.db missing with a fix-it message, then reads it once it appears (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(tmp.dir, 'Messages'));
      const path = join(tmp.dir, 'Messages', 'chat.db');
      const r = startReader(path, { startAfter: 0, reader: { settleMs: 50 }, watcher: { backoffInitialMs: 100, backoffMaxMs: 400 } });
      try {
        await waitFor(() => r.reader.status().state === 'down', 'down status');
        assert.equal(r.reader.status().error?.code, 'CHATDB_NOT_FOUND');
        assert.match(r.reader.status().error?.message ?? '', /Full Disk Access/);
        const w = makeMessagesDb(tmp.dir, schema);
        w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
        const a = w.insert({ chat: DM, handle: ALICE, text: 'first ever' });
        await waitFor(() => r.out.events.some((e) => e.guid === a.guid), 'row after chat.db appeared', 3000);
        assert.equal(r.reader.status().state, 'ok');
        w.close();
      } finally {
        r.stop(); tmp.cleanup();
      }
    });

    it(`reports a file that is not a database, and never crash-loops (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(tmp.dir, 'Messages'));
      const path = join(tmp.dir, 'Messages', 'chat.db');
      writeFileSync(path, 'this is not sqlite'.repeat(100));
      const r = startReader(path, { startAfter: 0, watcher: { backoffInitialMs: 50, backoffMaxMs: 100 } });
      try {
        await waitFor(() => r.reader.status().state === 'down', 'down status');
        assert.equal(r.reader.status().error?.code, 'CHATDB_CORRUPT');
        const since = r.reader.status().since;
        const t0 = Date.now();
        const n = r.polls.length;
        await waitFor(() => r.polls.length >= n + 4, 'four more polls (retries)');
        assert.deepEqual({ state: r.reader.status().state, code: r.reader.status().error?.code, since: r.reader.status().since },
          { state: 'down', code: 'CHATDB_CORRUPT', since }, 'one steady outage, not a flapping one');
        assert.ok(r.polls.length - n <= (Date.now() - t0) / 50 + 2, 'it backs off (at least 50 ms apart), never spins');
      } finally {
        r.stop(); tmp.cleanup();
      }
    });

    it(`re-bases on the last GUID when chat.db is replaced and ROWIDs go backwards (${schema} schema)`, { skip }, async () => {
      const tmp = tempDir();
      const w = makeMessagesDb(tmp.dir, schema);
      w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      for (let i = 0; i < 5; i++) w.insert({ chat: DM, handle: ALICE, text: `filler ${i}` });
      const r = startReader(w.path, { startAfter: 'end', reader: { settleMs: 50 } });
      try {
        const a = w.insert({ chat: DM, handle: ALICE, text: 'last seen before the restore', guid: 'LAST-SEEN-GUID' });
        await waitFor(() => r.out.events.some((e) => e.guid === a.guid), 'first');
        // A restored database: the same message now sits at a lower ROWID, then new rows follow.
        const tmpB = tempDir();
        const w2 = makeMessagesDb(tmpB.dir, schema);
        w2.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
        w2.insert({ chat: DM, handle: ALICE, text: 'last seen before the restore', guid: 'LAST-SEEN-GUID' });
        w2.close();
        const { copyFileSync, rmSync } = await import('node:fs');
        w.close();
        rmSync(`${w.path}-wal`, { force: true });
        rmSync(`${w.path}-shm`, { force: true });
        rmSync(w.path);
        copyFileSync(w2.path, w.path);
        const { MessagesDb } = await import('../../relay/simulator/messages-db.js');
        const w3 = new MessagesDb(w.path);
        w3.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
        const b = w3.insert({ chat: DM, handle: ALICE, text: 'after the restore' });
        assert.ok(b.rowid < a.rowid, 'ROWIDs went backwards');
        try {
          await waitFor(() => r.out.events.some((e) => e.guid === b.guid), 'row after restore', 4000);
          assert.equal(r.out.events.filter((e) => e.guid === 'LAST-SEEN-GUID').length, 1, 'the last row is not repeated');
        } finally {
          w3.close(); tmpB.cleanup();
        }
      } finally {
        r.stop(); tmp.cleanup();
      }
    });
  }
});
