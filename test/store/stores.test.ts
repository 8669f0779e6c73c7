// Our SQLite stores on real files: migrations, the outbox/cursor transaction, the inbox, and the
// hub's once-per-event ingest, idempotent commands and forward-only results.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { RelayError } from '../../relay/errors.js';
import { HubStore } from '../../relay/store/hub-store.js';
import { MacStore } from '../../relay/store/mac-store.js';
import { tempDir } from '../support/chatdb-env.js';

const ev = (guid: string): Record<string, unknown> => ({ kind: 'message', guid, chat: { guid: 'iMessage;-;+1555', identifier: '+1555', name: null, is_group: false, participants: ['+1555'] }, service: 'iMessage', date: '2026-01-01T00:00:00.000Z' });

describe('Mac store', () => {
  it('migrates by user_version and keeps its data across reopen', () => {
    const t = tempDir();
    try {
      const path = join(t.dir, 'relay.db');
      const a = new MacStore(path, () => 1000);
      a.enqueueWithCursor([{ type: 'event', id: 'message:A', body: ev('A') }], 'chatdb', '{"rowid":5}');
      const id = a.storeId();
      a.close();
      const raw = new Database(path, { readonly: true });
      assert.equal(raw.pragma('user_version', { simple: true }), 4);
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      raw.close();
      const b = new MacStore(path, () => 2000);
      assert.equal(b.cursor('chatdb'), '{"rowid":5}');
      assert.equal(b.storeId(), id);
      assert.deepEqual(b.pending(0, 10).map((x) => x.id), ['message:A']);
      b.close();
    } finally { t.cleanup(); }
  });

  it('enqueues events and moves the cursor in one transaction: a failed cursor write stores no event', () => {
    const t = tempDir();
    try {
      const path = join(t.dir, 'relay.db');
      const s = new MacStore(path, () => 1000);
      s.enqueueWithCursor([{ type: 'event', id: 'message:A', body: ev('A') }], 'chatdb', '1');
      const sabotage = new Database(path);
      sabotage.exec("CREATE TRIGGER no_cursor BEFORE UPDATE ON cursors BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;");
      sabotage.close();
      assert.throws(() => s.enqueueWithCursor([{ type: 'event', id: 'message:B', body: ev('B') }], 'chatdb', '2'),
        (e: unknown) => e instanceof RelayError && e.code === 'STORE_WRITE_FAILED');
      assert.deepEqual(s.pending(0, 10).map((x) => x.id), ['message:A'], 'B was not stored');
      assert.equal(s.cursor('chatdb'), '1', 'the cursor did not move');
      s.close();
    } finally { t.cleanup(); }
  });

  it('acks, reports depth and age, keeps a command id once, and prunes', () => {
    const t = tempDir();
    let now = 1_000_000;
    try {
      const s = new MacStore(join(t.dir, 'relay.db'), () => now);
      s.enqueue([{ type: 'event', id: 'a', body: {} }, { type: 'event', id: 'b', body: {} }, { type: 'event', id: 'a', body: {} }]);
      assert.equal(s.depth().count, 2, 'an id is enqueued once');
      now += 5000;
      assert.equal(s.depth().oldestAgeMs, 5000);
      assert.deepEqual(s.pending(1, 10).map((x) => x.seq), [2], 'pending starts after the seq given');
      s.ack(1);
      assert.equal(s.depth().count, 1);
      assert.equal(s.ackedSeq(), 1);
      s.enqueue([{ type: 'event', id: 'a', body: { again: true } }]);
      assert.deepEqual(s.pending(0, 10).map((x) => [x.seq, x.id]), [[1, 'a'], [2, 'b']], 'an acknowledged id enqueued again is not queued again');
      assert.equal(s.depth().count, 1);
      const first = s.receiveCommands([{ seq: 10, id: 'cmd-1', body: { text: 'x' } }, { seq: 11, id: 'cmd-2', body: {} }]);
      const again = s.receiveCommands([{ seq: 10, id: 'cmd-1', body: {} }, { seq: 12, id: 'cmd-1', body: {} }]);
      assert.deepEqual(first, { stored: 2, lastSeq: 11, begun: null });
      assert.deepEqual(again, { stored: 0, lastSeq: 12, begun: null }, 'a command id seen twice is stored once');
      assert.equal(s.commandsInState('received').length, 2);
      // An idle sender takes a new command as it is stored, but never ahead of commands already waiting.
      const begin = (): number => 4242;
      assert.equal(s.receiveCommands([{ seq: 13, id: 'cmd-3', body: {} }], begin).begun, null, 'cmd-1 and cmd-2 come first');
      for (const id of ['cmd-1', 'cmd-2', 'cmd-3']) s.setCommandState(id, 'failed', { error: 'test' });
      assert.equal(s.receiveCommands([{ seq: 14, id: 'cmd-4', body: {} }], begin).begun, 'cmd-4');
      const [sending] = s.commandsInState('sending');
      assert.deepEqual({ id: sending?.commandId, probe: sending?.probeRowid }, { id: 'cmd-4', probe: 4242 }, 'stored already sending, with its probe');
      assert.ok(s.pending(0, 100).some((x) => x.id === 'cmd-4:sending'), 'its sending result is queued for the hub');
      now += 10 * 24 * 3600_000;
      assert.equal(s.prune(7 * 24 * 3600_000), 4, 'the acked row and the finished commands older than the retention go');
      assert.deepEqual(s.pending(0, 10).map((x) => x.id)[0], 'b');
      s.close();
    } finally { t.cleanup(); }
  });

  it('keeps an item too large to carry, or refused by the hub, as a dead letter: never sent, reported once committed', () => {
    const t = tempDir();
    let now = 1_000_000;
    try {
      const path = join(t.dir, 'relay.db');
      const seen: Array<{ seq: number; id: string; code: string }> = [];
      const s = new MacStore(path, () => now, { maxItemBytes: 1000, onDeadLetter: (d) => seen.push({ seq: d.seq, id: d.id, code: d.code }) });
      s.enqueue([{ type: 'event', id: 'a', body: ev('A') }, { type: 'event', id: 'b', body: { ...ev('B'), text: 'x'.repeat(2000) } }, { type: 'event', id: 'c', body: ev('C') }]);
      assert.deepEqual(s.pending(0, 10).map((x) => x.id), ['a', 'c'], 'the large one is never sent');
      assert.equal(s.depth().count, 2, 'nor counted as waiting');
      assert.deepEqual(seen, [{ seq: 2, id: 'b', code: 'ITEM_TOO_LARGE' }]);
      assert.equal(s.deadLetters().count, 1);
      assert.match(s.deadLetters().last!.reason, /^ITEM_TOO_LARGE: event item of \d+ bytes is over the relay's limit of 1000 bytes/);
      // Not committed, not told.
      const sabotage = new Database(path);
      sabotage.exec("CREATE TRIGGER no_cursor BEFORE INSERT ON cursors BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;");
      sabotage.close();
      assert.throws(() => s.enqueueWithCursor([{ type: 'event', id: 'd', body: { ...ev('D'), text: 'x'.repeat(2000) } }], 'chatdb', '1'));
      assert.equal(seen.length, 1);
      const repair = new Database(path);
      repair.exec('DROP TRIGGER no_cursor');
      repair.close();
      // The hub refuses c and acks past it: c is a dead letter, a is acknowledged.
      now += 1000;
      s.ack(3, [{ seq: 3, code: 'ITEM_TOO_LARGE', message: "over the hub's limit" }]);
      assert.equal(s.depth().count, 0);
      assert.deepEqual(seen.map((d) => d.id), ['b', 'c']);
      assert.deepEqual({ count: s.deadLetters().count, seq: s.deadLetters().last?.seq, reason: s.deadLetters().last?.reason }, { count: 2, seq: 3, reason: "ITEM_TOO_LARGE: over the hub's limit" });
      s.ack(3, [{ seq: 3, code: 'ITEM_TOO_LARGE', message: 'again' }]);
      assert.equal(seen.length, 2, 'a refusal heard twice is one dead letter');
      // A command too large is kept only as failed, and its failure goes to the hub as a result.
      s.receiveCommands([{ seq: 1, id: 'cmd-big', body: { kind: 'send', text: 'x' } }, { seq: 2, id: 'cmd-ok', body: { kind: 'send', text: 'y' } }], undefined,
        new Map([[1, { code: 'ITEM_TOO_LARGE', message: 'too large' }]]));
      assert.deepEqual(s.commandsInState('received').map((c) => c.commandId), ['cmd-ok']);
      assert.deepEqual(s.commandsInState('failed').map((c) => c.commandId), ['cmd-big']);
      const result = s.pending(3, 10).find((x) => x.id === 'cmd-big:failed');
      assert.equal(result?.body['error'], 'ITEM_TOO_LARGE: too large');
      assert.equal(s.commandSeq(), 2);
      now += 10 * 24 * 3600_000;
      s.prune(7 * 24 * 3600_000);
      assert.equal(s.deadLetters().count, 0, 'pruned with the retention');
      s.close();
    } finally { t.cleanup(); }
  });

  it('refuses a store written by a newer version', () => {
    const t = tempDir();
    try {
      const path = join(t.dir, 'relay.db');
      const raw = new Database(path);
      raw.pragma('user_version = 99');
      raw.close();
      assert.throws(() => new MacStore(path, () => 0), (e: unknown) => e instanceof RelayError && e.code === 'STORE_TOO_NEW');
    } finally { t.cleanup(); }
  });
});

describe('hub store', () => {
  it('ingests each event once: by seq, and by event id across a relay store reset', () => {
    const t = tempDir();
    try {
      const s = new HubStore(join(t.dir, 'hub.db'), () => 1000);
      assert.deepEqual(s.events.relay('alice', 'KEY', 'store-1'), { acked: 0, cmdAcked: 0 });
      const items = [1, 2, 3].map((seq) => ({ seq, type: 'event' as const, id: `message:G${seq}`, body: ev(`G${seq}`) }));
      const r1 = s.events.ingest('alice', items, ['main']);
      assert.equal(r1.acked, 3);
      assert.equal(r1.inserted.length, 3);
      const r2 = s.events.ingest('alice', items, ['main']);
      assert.equal(r2.inserted.length, 0);
      assert.equal(r2.duplicates, 3);
      assert.equal(s.events.relay('alice', 'KEY', 'store-1').acked, 3);
      assert.equal(s.events.relay('alice', 'KEY', 'store-2').acked, 0, 'a recreated relay store starts from seq 0');
      const r3 = s.events.ingest('alice', [{ seq: 1, type: 'event', id: 'message:G1', body: ev('G1') }, { seq: 2, type: 'event', id: 'message:NEW', body: ev('NEW') }], ['main']);
      assert.deepEqual(r3.inserted.map((e) => e.id), ['message:NEW'], 'event ids still drop duplicates');
      assert.equal(s.events.count('alice'), 4);
      assert.equal(s.deliveries.pending('main', 0, 100).length, 4, 'one webhook delivery per new event');
      assert.deepEqual(s.chats.list(500).map((c) => c.guid), ['iMessage;-;+1555']);
      s.close();
    } finally { t.cleanup(); }
  });

  it('a backlog message and a from-me row are stored as non-prompts; a fresh message is a prompt', () => {
    const t = tempDir();
    try {
      const s = new HubStore(join(t.dir, 'hub.db'), () => 1000);
      s.events.relay('alice', 'KEY', 'store-1');
      const items = [
        { seq: 1, type: 'event' as const, id: 'message:FRESH', body: { ...ev('FRESH'), backlog: false } },
        { seq: 2, type: 'event' as const, id: 'message:OLD', body: { ...ev('OLD'), backlog: true } },
        { seq: 3, type: 'event' as const, id: 'from_me:MINE', body: { ...ev('MINE'), kind: 'from_me', backlog: false } },
        { seq: 4, type: 'event' as const, id: 'reaction:R', body: { ...ev('R'), kind: 'reaction', backlog: false } },
      ];
      const r = s.events.ingest('alice', items, ['main']);
      assert.deepEqual(r.inserted.map((e) => [e.id, e.prompt]), [['message:FRESH', 1], ['message:OLD', 0], ['from_me:MINE', 0], ['reaction:R', 0]]);
      const stored = s.deliveries.pending('main', 0, 10).map((d) => [d.event_id, d.prompt]);
      assert.deepEqual(stored, [['message:FRESH', 1], ['message:OLD', 0], ['from_me:MINE', 0], ['reaction:R', 0]], 'as stored, read back');
      s.close();
    } finally { t.cleanup(); }
  });

  it('the same guid from two accounts is stored for both (duplicates are per relay)', () => {
    const t = tempDir();
    try {
      const s = new HubStore(join(t.dir, 'hub.db'), () => 1000);
      s.events.relay('alice', 'KEY-A', 'store-a');
      s.events.relay('bob', 'KEY-B', 'store-b');
      const item = { seq: 1, type: 'event' as const, id: 'message:SHARED', body: ev('SHARED') };
      assert.equal(s.events.ingest('alice', [item], ['main']).inserted.length, 1);
      const forBob = s.events.ingest('bob', [item], ['main']);
      assert.equal(forBob.inserted.length, 1, 'stored for bob too');
      assert.equal(forBob.duplicates, 0);
      assert.equal(forBob.acked, 1);
      assert.equal(s.events.count('alice'), 1);
      assert.equal(s.events.count('bob'), 1);
      assert.deepEqual(s.events.after(0, 10).map((e) => e.account), ['alice', 'bob']);
      assert.deepEqual(s.deliveries.pending('main', 0, 10).map((d) => d.account), ['alice', 'bob'], 'each gets its webhook');
      assert.equal(s.events.ingest('bob', [{ ...item, seq: 2 }], ['main']).duplicates, 1, 'but bob\'s own repeat is a duplicate');
      s.close();
    } finally { t.cleanup(); }
  });

  it('acknowledges exactly the highest seq it stored, and skips items at or below it on a resend', () => {
    const t = tempDir();
    try {
      const s = new HubStore(join(t.dir, 'hub.db'), () => 1000);
      s.events.relay('alice', 'KEY', 'store-1');
      const item = (seq: number, g: string) => ({ seq, type: 'event' as const, id: `message:${g}`, body: ev(g) });
      assert.equal(s.events.ingest('alice', [item(1, 'A'), item(2, 'B')], ['main']).acked, 2);
      const again = s.events.ingest('alice', [item(2, 'B'), item(3, 'C')], ['main']);
      assert.deepEqual({ acked: again.acked, dup: again.duplicates, ins: again.inserted.map((e) => e.id) }, { acked: 3, dup: 1, ins: ['message:C'] });
      assert.equal(s.events.acked('alice'), 3);
      assert.equal(s.events.relay('alice', 'KEY', 'store-1').acked, 3, 'the same store keeps its acked seq');
      s.close();
    } finally { t.cleanup(); }
  });

  it('one command per idempotency key; results only move a command forward', () => {
    const t = tempDir();
    try {
      const s = new HubStore(join(t.dir, 'hub.db'), () => 1000);
      s.events.relay('alice', 'KEY', 'store-1');
      const a = s.commands.createSends('alice', [{ body: { kind: 'send', text: 'hi' } }], 'k1');
      const b = s.commands.createSends('alice', [{ body: { kind: 'send', text: 'hi' } }], 'k1');
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(b.commands[0]!.id, a.commands[0]!.id);
      const id = a.commands[0]!.id;
      const result = (seq: number, status: string, extra: Record<string, unknown> = {}) => ({ seq, type: 'result' as const, id: `${id}:${status}`, body: { command_id: id, status, ...extra } });
      s.events.ingest('alice', [result(1, 'sending'), result(2, 'delivered', { apple_guid: 'APPLE-1' })], []);
      assert.equal(s.commands.get(id)!.status, 'delivered');
      assert.equal(s.commands.get(id)!.apple_guid, 'APPLE-1');
      s.events.ingest('alice', [result(3, 'sent')], []);
      assert.equal(s.commands.get(id)!.status, 'delivered', 'a late "sent" does not move it back');
      assert.deepEqual(s.commands.forRelay('alice', 0, 10), [], 'no longer queued');
      s.close();
    } finally { t.cleanup(); }
  });
});

describe('hub store: webhook backlog age', () => {
  it('counts a delivery\'s wait from when it was queued, not from its last failed attempt; a revived dead letter waits from its revival', () => {
    const t = tempDir();
    let now = 1_000_000;
    try {
      const s = new HubStore(join(t.dir, 'hub.db'), () => now);
      s.events.relay('alice', 'KEY', 'store-1');
      s.events.ingest('alice', [{ seq: 1, type: 'event', id: 'message:AGE', body: ev('AGE') }], ['main']);
      const seq = s.deliveries.pending('main', 0, 10)[0]!.event_seq;
      now += 50_000;
      s.deliveries.markFailed('main', seq, 'HTTP 500', now + 1000, false);
      now += 20_000;
      assert.deepEqual(s.deliveries.backlog(), { pending: 1, dead: 0, oldestMs: 70_000 }, 'a retry does not make the backlog look fresh');
      s.deliveries.markFailed('main', seq, 'HTTP 500', now, true);
      assert.deepEqual(s.deliveries.backlog(), { pending: 0, dead: 1, oldestMs: null });
      now += 5_000;
      assert.equal(s.deliveries.revive('main', seq), true);
      now += 3_000;
      assert.deepEqual(s.deliveries.backlog(), { pending: 1, dead: 0, oldestMs: 3_000 });
      s.close();
    } finally { t.cleanup(); }
  });
});
