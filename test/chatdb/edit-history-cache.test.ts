// Edit histories in the edit window are parsed once per change, not on every poll: with 300 edited
// rows, polls for new messages parse nothing, and a real new edit is still seen (and parsed once).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { parseEditHistory } from '../../relay/chatdb/edit-history.js';
import { EditHistoryCache } from '../../relay/chatdb/edit-history-cache.js';
import { ChatDbReader } from '../../relay/chatdb/reader.js';
import { silentLogger } from '../../relay/logger.js';
import type { RelayEvent } from '../../relay/model/events.js';
import type { MessagesDb } from '../../relay/simulator/messages-db.js';
import { makeMessagesDb, tempDir } from '../support/chatdb-env.js';
import { fixture, needsFixtures } from '../support/fixtures.js';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';

const ALICE = '+15555550123';
const DM = `iMessage;-;${ALICE}`;
const appleNow = (plusMs = 0): bigint => BigInt(Date.now() + plusMs - 978_307_200_000) * 1_000_000n;

describe('edit histories are cached by what changed', { skip: needsFixtures }, () => {
  let tmp: ReturnType<typeof tempDir>;
  let w: MessagesDb;
  let reader: ChatDbReader;
  const events: RelayEvent[] = [];
  let parses = 0;
  const rows: Array<{ rowid: number; guid: string }> = [];

  /** Polls until `count` more events have come (the settle window takes two reads). */
  const pollFor = (count: number): RelayEvent[] => {
    const from = events.length;
    for (let i = 0; i < 1000 && events.length < from + count; i++) assert.ok(reader.poll().ok);
    assert.equal(events.length, from + count, `${count} events`);
    return events.slice(from);
  };

  before(() => {
    tmp = tempDir();
    w = makeMessagesDb(tmp.dir, 'macos15');
    w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    reader = new ChatDbReader({
      path: w.path, clock: systemClock, logger: silentLogger(), homeDir: tmp.dir, state: null, startAfter: 'end',
      options: { settleMs: 0 }, commit: (e) => { events.push(...e); },
      parseEditHistory: (blob) => { parses++; return parseEditHistory(blob); },
    });
    reader.poll();
    w.db.transaction(() => { for (let i = 0; i < 300; i++) rows.push(w.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody(`message ${i}`) })); })();
    pollFor(300);
  });
  after(() => { reader.close(); w.close(); tmp.cleanup(); });

  it('300 rows edited: 300 edits, each history parsed once', () => {
    w.db.prepare('UPDATE message SET message_summary_info = ?, date_edited = ? WHERE ROWID >= ?').run(fixture('message-summary-info', 'EditedToLink.plist'), appleNow(), rows[0]!.rowid);
    const edits = pollFor(300);
    assert.ok(edits.every((e) => e.kind === 'edit'));
    assert.equal(parses, 300);
  });

  it('new messages while they sit in the edit window: polls parse no history again', () => {
    for (let round = 0; round < 5; round++) {
      w.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody(`later ${round}`) });
      assert.equal(pollFor(1)[0]!.kind, 'message');
    }
    assert.equal(parses, 300);
  });

  it('a real new edit is seen, and only that row is parsed again', () => {
    const row = rows[137]!;
    w.update(row.rowid, { attributedBody: encodeAttributedBody('Edited message'), message_summary_info: fixture('message-summary-info', 'Edited.plist'), date_edited: appleNow(1000) });
    const [edit] = pollFor(1);
    assert.equal(edit!.kind, 'edit');
    assert.equal(edit!.guid, row.guid);
    assert.equal(edit!.kind === 'edit' && edit!.text, 'Edited message');
    assert.equal(parses, 301);
  });

  it('an edit date that moved with the same summary is reported without parsing it again', () => {
    const row = rows[42]!;
    w.update(row.rowid, { date_edited: appleNow(2000) });
    const [edit] = pollFor(1);
    assert.equal(edit!.kind === 'edit' && edit!.guid, row.guid);
    assert.equal(parses, 301);
  });

  it('a summary of the same length but other bytes, with a new date, is parsed again', () => {
    const cache = new EditHistoryCache(() => { parses++; return parseEditHistory(null); });
    const before = parses;
    const base = { rowid: 1n, date_edited: 5n, date_retracted: null, summary: Buffer.from('aaaa') };
    cache.get(base);
    assert.equal(cache.known({ rowid: 1n, date_edited: 5n, date_retracted: null, summary_bytes: 4n }), cache.get(base), 'same dates and length: known');
    assert.equal(cache.known({ rowid: 1n, date_edited: 6n, date_retracted: null, summary_bytes: 4n }), undefined, 'a new date: read again');
    assert.equal(cache.known({ rowid: 1n, date_edited: 5n, date_retracted: null, summary_bytes: 5n }), undefined, 'another length: read again');
    cache.get({ ...base, date_edited: 6n, summary: Buffer.from('aaab') });
    assert.equal(parses - before, 2, 'other bytes are parsed');
    cache.prune(1);
    assert.equal(cache.size, 0, 'rows that left the edit window are forgotten');
  });
});
