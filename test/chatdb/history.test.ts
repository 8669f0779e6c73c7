// The Mac's history answers (chatdb/history.ts) on chat.db built from Apple's real schemas (macOS 15
// and 26) and the project's own: chats newest first with their ROWIDs, a chat's messages newest first
// across pages, date bounds, the participant filter, tapbacks netted per message, and the time budget.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock, type Clock } from '../../relay/clock.js';
import { ChatHistory, HISTORY_PAGE } from '../../relay/chatdb/history.js';
import { hasCode } from '../../relay/errors.js';
import type { MessagesDb } from '../../relay/simulator/messages-db.js';
import { makeMessagesDb, tempDir } from '../support/chatdb-env.js';
import { schemasToRun } from '../support/fixtures.js';

const ALICE = '+15555550123';
const BOB = 'bob@example.com';
const DM = `iMessage;-;${ALICE}`;
const GROUP = 'iMessage;+;chat999000000000000001';

for (const { schema, skip } of schemasToRun('minimal', 'macos15', 'macos26')) {
  describe(`chat.db history on the ${schema} schema`, () => {
    let tmp: { dir: string; cleanup: () => void };
    let w: MessagesDb;
    let h: ChatHistory;
    let dm = 0;
    let group = 0;
    const t0 = Date.parse('2026-06-01T12:00:00.000Z');
    const rows: Array<{ rowid: number; guid: string }> = [];

    before(() => {
      if (skip !== false) return;
      tmp = tempDir();
      w = makeMessagesDb(tmp.dir, schema);
      dm = w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      group = w.chat({ guid: GROUP, identifier: 'chat999000000000000001', group: true, name: 'Team', participants: [ALICE, BOB] });
      // 1.2 pages of DM messages, one minute apart; group rows interleaved early on.
      for (let i = 0; i < HISTORY_PAGE + 100; i++) {
        rows.push(w.insert({ chat: DM, handle: ALICE, fromMe: i % 5 === 0, text: `dm ${i}`, dateMs: t0 + i * 60_000 }));
        if (i < 3) w.insert({ chat: GROUP, handle: i === 1 ? BOB : ALICE, text: `group ${i}`, dateMs: t0 + i * 60_000 + 1 });
      }
      // Tapbacks on dm 1: Bob cannot (not in the DM); Alice loves it, laughs then takes the laugh back.
      w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${rows[1]!.guid}`, associatedType: 2000, text: 'Loved', dateMs: t0 + 1_000_000_000 });
      w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${rows[1]!.guid}`, associatedType: 2003, text: 'Laughed', dateMs: t0 + 1_000_000_001 });
      w.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${rows[1]!.guid}`, associatedType: 3003, text: 'Removed', dateMs: t0 + 1_000_000_002 });
      h = new ChatHistory({ path: w.path, homeDir: tmp.dir, clock: systemClock });
    });
    after(() => { if (skip !== false) return; h.close(); w.close(); tmp.cleanup(); });

    it('lists chats newest activity first with their chat.db ROWIDs and finds one by id, guid or identifier', { skip }, () => {
      const chats = h.chats(10);
      assert.deepEqual(chats.map((c) => [c.id, c.guid]), [[dm, DM], [group, GROUP]]);
      assert.equal(chats[0]!.last_message_at, new Date(t0 + 1_000_000_002).toISOString(), 'its newest row, the tapback taken back');
      assert.deepEqual(chats[1]!.participants, [ALICE, BOB]);
      assert.deepEqual([chats[1]!.is_group, chats[1]!.name], [true, 'Team']);
      assert.equal(h.chats(1).length, 1);
      assert.equal(h.chat({ id: group })?.guid, GROUP);
      assert.equal(h.chat({ key: ALICE })?.id, dm);
      assert.equal(h.chat({ key: GROUP })?.id, group);
      assert.equal(h.chat({ id: 99_999 }), null);
    });

    it('pages a chat newest first past one page, without tapback rows, tapbacks netted on their message', { skip }, () => {
      const all = h.history({ chatId: dm, limit: HISTORY_PAGE, start: null, end: null, participants: null, attachments: false });
      assert.equal(all.partial, false);
      assert.equal(all.messages.length, HISTORY_PAGE);
      assert.equal(all.messages[0]!.guid, rows[rows.length - 1]!.guid);
      assert.ok(all.messages.every((m, i) => i === 0 || m.rowid < all.messages[i - 1]!.rowid), 'newest first');
      assert.ok(all.messages.every((m) => m.kind === 'message' || m.kind === 'from_me'));
      assert.ok(all.messages.every((m) => m.chat?.id === dm));
      const old = h.history({ chatId: dm, limit: 3, start: null, end: t0 + 2 * 60_000, participants: null, attachments: false });
      assert.deepEqual(old.messages.map((m) => m.guid), [rows[1]!.guid, rows[0]!.guid]);
      assert.deepEqual(old.messages[0]!.reactions.map((r) => [r.reaction, r.sender, r.from_me]), [['love', ALICE, false]]);
      assert.deepEqual(old.messages[1]!.reactions, []);
      assert.equal(old.messages[1]!.kind, 'from_me');
    });

    it('filters by date (start inclusive, end exclusive) and by sender handle, case-insensitively', { skip }, () => {
      const win = h.history({ chatId: dm, limit: 50, start: t0 + 10 * 60_000, end: t0 + 13 * 60_000, participants: null, attachments: false });
      assert.deepEqual(win.messages.map((m) => m.rowid), [rows[12]!.rowid, rows[11]!.rowid, rows[10]!.rowid]);
      const bob = h.history({ chatId: group, limit: 50, start: null, end: null, participants: ['BOB@example.com'], attachments: false });
      assert.deepEqual(bob.messages.map((m) => m.sender), [BOB]);
    });

    it('refuses an unknown chat (UNKNOWN_CHAT) and answers what it found when its time budget runs out', { skip }, () => {
      assert.throws(() => h.history({ chatId: 99_999, limit: 5, start: null, end: null, participants: null, attachments: false }), (e) => hasCode(e, 'UNKNOWN_CHAT'));
      // A clock that jumps past the budget after the first page: a search for a sender never found stops there.
      let calls = 0;
      const jumpy: Clock = { ...systemClock, now: () => (calls++ === 0 ? 0 : 10_000) };
      const slow = new ChatHistory({ path: w.path, homeDir: tmp.dir, clock: jumpy, budgetMs: 2000 });
      try {
        const r = slow.history({ chatId: dm, limit: 5, start: null, end: null, participants: ['nobody@example.com'], attachments: false });
        assert.deepEqual([r.messages.length, r.partial], [0, true]);
      } finally {
        slow.close();
      }
    });
  });
}
