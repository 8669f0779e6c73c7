// The reader poll by poll under a fake clock: the settle window, the hold limit, ROWID order, the
// age fence and a failed commit, each to the millisecond. These need nothing of Apple's: they run
// on the project's own schema always, and on Apple's schemas as well when ../shared/fixtures is there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatDbReader, type ReaderOptions } from '../../relay/chatdb/reader.js';
import type { ReaderState } from '../../relay/chatdb/reader-state.js';
import { RelayError } from '../../relay/errors.js';
import { silentLogger } from '../../relay/logger.js';
import type { RelayEvent } from '../../relay/model/events.js';
import type { MessagesDb } from '../../relay/simulator/messages-db.js';
import { makeMessagesDb, tempDir } from '../support/chatdb-env.js';
import { FakeClock } from '../support/fake-clock.js';
import { schemasToRun } from '../support/fixtures.js';

const ALICE = '+15555550123';
const DM = `iMessage;-;${ALICE}`;
const SETTLE = 500;
const HOLD = 5000;
const FENCE = 15 * 60_000;

interface Rig {
  readonly w: MessagesDb;
  readonly clock: FakeClock;
  readonly reader: ChatDbReader;
  readonly events: RelayEvent[];
  /** Polls once and returns the guids (kind:guid) it committed. */
  poll(): string[];
  failCommits: boolean;
  state: ReaderState | null;
  close(): void;
}

function rig(schema: Parameters<typeof makeMessagesDb>[1], options: Partial<ReaderOptions> = {}): Rig {
  const tmp = tempDir();
  const w = makeMessagesDb(tmp.dir, schema);
  w.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
  const clock = new FakeClock(Date.now());
  const events: RelayEvent[] = [];
  const r: Rig = {
    w, clock, events, failCommits: false, state: null,
    reader: new ChatDbReader({
      path: w.path, clock, logger: silentLogger(), homeDir: tmp.dir, state: null, startAfter: 'end',
      options: { settleMs: SETTLE, maxHoldMs: HOLD, ageFenceMs: FENCE, ...options },
      commit: (batch, state) => {
        if (r.failCommits && batch.length > 0) throw new RelayError('STORE_DISK_FULL', 'the disk is full');
        events.push(...batch);
        r.state = state;
      },
    }),
    poll: () => {
      const before = events.length;
      const outcome = r.reader.poll();
      if (!outcome.ok && !r.failCommits) throw outcome.error;
      return events.slice(before).map((e) => `${e.kind}:${e.guid}`);
    },
    close: () => { r.reader.close(); w.close(); tmp.cleanup(); },
  };
  assert.deepEqual(r.poll(), [], 'nothing before the first row');
  return r;
}

for (const { schema, skip } of schemasToRun('minimal', 'macos15', 'macos26')) {
  describe(`reader settle window and age fence (fake clock, ${schema} schema)`, () => {
    it('emits a row exactly settleMs after it was first read, not a millisecond earlier', { skip }, () => {
      const r = rig(schema);
      try {
        const a = r.w.insert({ chat: DM, handle: ALICE, text: 'hello', dateMs: r.clock.now() });
        const t0 = r.clock.now();
        const first = r.reader.poll();
        assert.deepEqual(first, { ok: true, emitted: 0, nextDeadline: t0 + SETTLE, more: false }, 'the watcher is told when to look again');
        r.clock.advance(100);
        r.w.insert({ chat: DM, handle: ALICE, text: 'a second row, due later', dateMs: r.clock.now() });
        assert.equal(r.reader.poll().ok && (r.reader.poll() as { nextDeadline: number | null }).nextDeadline, t0 + SETTLE, 'the deadline is the first pending row\'s');
        r.clock.advance(SETTLE - 100 - 1);
        assert.deepEqual(r.poll(), [], 'one ms early');
        r.clock.advance(1);
        assert.deepEqual(r.poll(), [`message:${a.guid}`]);
        r.clock.advance(100);
        assert.equal(r.poll().length, 1, 'then the second');
        r.clock.advance(SETTLE * 4);
        assert.deepEqual(r.poll(), [], 'once');
      } finally { r.close(); }
    });

    it('a change inside the window starts it again; the row goes out once, with what it became (never as a prompt)', { skip }, () => {
      const r = rig(schema);
      try {
        const row = r.w.insert({ chat: DM, handle: ALICE, text: 'echo of my own reply', dateMs: r.clock.now() });
        assert.deepEqual(r.poll(), []);
        r.clock.advance(SETTLE - 1);
        r.w.update(row.rowid, { is_from_me: 1 });
        assert.deepEqual(r.poll(), [], 'the change is seen 1 ms before the window would close');
        r.clock.advance(1);
        assert.deepEqual(r.poll(), [], 'the window restarted at the change');
        r.clock.advance(SETTLE - 2);
        assert.deepEqual(r.poll(), []);
        r.clock.advance(1);
        assert.deepEqual(r.poll(), [`from_me:${row.guid}`]);
        assert.equal(r.events.filter((e) => e.kind === 'message').length, 0);
      } finally { r.close(); }
    });

    it('a row that never stops changing goes out maxHoldMs after it was first read, with its latest content', { skip }, () => {
      const r = rig(schema);
      try {
        const row = r.w.insert({ chat: DM, handle: ALICE, text: 'v0', dateMs: r.clock.now() });
        assert.deepEqual(r.poll(), []);
        for (let t = 400; t < HOLD; t += 400) {
          r.clock.advance(400);
          r.w.update(row.rowid, { text: `v${t}` });
          assert.deepEqual(r.poll(), [], `held at ${t} ms`);
        }
        r.clock.advance(HOLD - 4800 - 1);
        assert.deepEqual(r.poll(), [], 'held until maxHoldMs');
        r.clock.advance(1);
        assert.deepEqual(r.poll(), [`message:${row.guid}`]);
        assert.equal(r.events[0]!.kind === 'message' && r.events[0]!.text, 'v4800');
      } finally { r.close(); }
    });

    it('keeps ROWID order: a row still settling holds back the settled rows after it', { skip }, () => {
      const r = rig(schema);
      try {
        const a = r.w.insert({ chat: DM, handle: ALICE, text: 'first', dateMs: r.clock.now() });
        r.poll();
        r.clock.advance(100);
        const b = r.w.insert({ chat: DM, handle: ALICE, text: 'second', dateMs: r.clock.now() });
        r.poll();
        r.clock.advance(300);
        r.w.update(a.rowid, { text: 'first, edited before it settled' });
        r.poll();
        r.clock.advance(200);
        assert.deepEqual(r.poll(), [], 'b is settled (600 ms) but waits behind a');
        r.clock.advance(SETTLE - 200 - 1);
        assert.deepEqual(r.poll(), []);
        r.clock.advance(1);
        assert.deepEqual(r.poll(), [`message:${a.guid}`, `message:${b.guid}`]);
        assert.deepEqual(r.state?.rowid, b.rowid, 'the cursor moved past both');
      } finally { r.close(); }
    });

    it('a row deleted before it settled is never emitted, and does not hold back the next', { skip }, () => {
      const r = rig(schema);
      try {
        const gone = r.w.insert({ chat: DM, handle: ALICE, text: 'sent by mistake', dateMs: r.clock.now() });
        const kept = r.w.insert({ chat: DM, handle: ALICE, text: 'kept', dateMs: r.clock.now() });
        r.poll();
        r.clock.advance(200);
        r.w.delete(gone.rowid);
        r.poll();
        r.clock.advance(SETTLE - 200);
        assert.deepEqual(r.poll(), [`message:${kept.guid}`]);
      } finally { r.close(); }
    });

    it('marks backlog by the date against when the row was first read: strictly older than the fence', { skip }, () => {
      const r = rig(schema);
      try {
        const t0 = r.clock.now();
        const old = r.w.insert({ chat: DM, handle: ALICE, text: 'just past the fence', dateMs: t0 - FENCE - 1 });
        const edge = r.w.insert({ chat: DM, handle: ALICE, text: 'at the fence', dateMs: t0 - FENCE });
        const near = r.w.insert({ chat: DM, handle: ALICE, text: 'inside the fence when first read', dateMs: t0 - FENCE + 200 });
        r.poll();
        // Another row arrives while they settle: the first three are read again, later than first seen.
        r.clock.advance(400);
        const fresh = r.w.insert({ chat: DM, handle: ALICE, text: 'fresh', dateMs: r.clock.now() });
        r.poll();
        r.clock.advance(SETTLE);
        r.poll();
        const backlog = new Map(r.events.map((e) => [e.guid, e.backlog]));
        assert.deepEqual([old, edge, near, fresh].map((x) => backlog.get(x.guid)), [true, false, false, false]);
      } finally { r.close(); }
    });

    it('a failed commit advances nothing; the same events are committed once by the next poll', { skip }, () => {
      const r = rig(schema, { settleMs: 0 });
      try {
        const a = r.w.insert({ chat: DM, handle: ALICE, text: 'first', dateMs: r.clock.now() });
        const b = r.w.insert({ chat: DM, handle: ALICE, text: 'second', dateMs: r.clock.now() });
        const cursor = r.state?.rowid;
        r.failCommits = true;
        const failed = r.reader.poll();
        assert.equal(failed.ok, false);
        assert.equal(!failed.ok && failed.error.code, 'STORE_DISK_FULL');
        assert.equal(r.reader.status().state, 'down');
        assert.equal(r.reader.cursor()?.rowid, cursor, 'the cursor did not move');
        assert.equal(r.events.length, 0);
        r.failCommits = false;
        r.clock.advance(1000);
        assert.deepEqual(r.poll(), [`message:${a.guid}`, `message:${b.guid}`]);
        assert.equal(r.reader.status().state, 'ok');
        r.clock.advance(1000);
        assert.deepEqual(r.poll(), [], 'not committed twice');
        assert.equal(r.reader.cursor()?.rowid, b.rowid);
      } finally { r.close(); }
    });
  });
}
