// The hub store's row feed and chat ids: a store written before issue 9 (schema 2) is upgraded with
// its events fed by ROWID; rows come strictly ascending whatever order they were stored in, replay
// from the start is bounded to the last 2 hours, and chats keep the ids the Mac gave them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../relay/store/database.js';
import { HUB_MIGRATIONS, HubStore } from '../../relay/store/hub-store.js';
import { tempDir } from '../support/chatdb-env.js';

const DM = 'iMessage;-;+1555';
const chat = { guid: DM, id: 7, identifier: '+1555', name: null, is_group: false, participants: ['+1555'] };
const row = (kind: string, rowid: number, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ kind, rowid, guid: `G${rowid}`, text: `x${rowid}`, date: new Date(Date.parse('2026-01-01T00:00:00Z') + rowid * 1000).toISOString(), service: 'iMessage', sender: kind === 'from_me' ? null : '+1555', chat, backlog: false, ...extra });

describe('hub store: row feed and chat ids', () => {
  it('upgrades a schema-2 store: its message, from-me and tapback events join the feed by ROWID', () => {
    const t = tempDir();
    try {
      const path = join(t.dir, 'hub.db');
      const old = openStore(path, HUB_MIGRATIONS.slice(0, 2));
      const insert = old.prepare('INSERT INTO events (account, event_id, kind, guid, chat_guid, prompt, body, received_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)');
      for (const [kind, rowid] of [['message', 3], ['edit', 3], ['reaction', 4], ['from_me', 5], ['delivery', 5]] as const) {
        insert.run('alice', `${kind}:${rowid}`, kind, `G${rowid}`, DM, JSON.stringify(row(kind, rowid)), 1000);
      }
      old.close();
      const s = new HubStore(path, () => 2000);
      try {
        assert.deepEqual(s.rows.after('alice', 0, 10).map((r) => [r.rowid, r.event['kind']]), [[3, 'message'], [4, 'reaction'], [5, 'from_me']]);
        assert.equal(s.rows.newest('alice'), 5);
        assert.equal(s.rows.newest('bob'), 0);
      } finally {
        s.close();
      }
    } finally {
      t.cleanup();
    }
  });

  it('feeds ascending by ROWID, bounds replay to 2 hours, and keeps chat ids from events and from the Mac', () => {
    const t = tempDir();
    let now = 10 * 3600_000;
    const s = new HubStore(join(t.dir, 'hub.db'), () => now);
    try {
      const items = (seq0: number, rows: Array<Record<string, unknown>>) => rows.map((body, i) => ({ seq: seq0 + i, type: 'event' as const, id: `${body['kind']}:${body['guid']}`, body }));
      s.events.ingest('alice', items(1, [row('message', 10)]), []);
      now += 3 * 3600_000;
      s.events.ingest('alice', items(2, [row('message', 12), row('from_me', 11), row('reaction', 13, { reaction: 'love', removed: false, target_guid: 'G12' })]), []);
      assert.deepEqual(s.rows.after('alice', 10, 10).map((r) => r.rowid), [11, 12, 13]);
      assert.deepEqual(s.rows.after('alice', 11, 1).map((r) => r.rowid), [12]);
      assert.deepEqual(s.rows.fromStart('alice', 10).map((r) => r.rowid), [11, 12, 13], 'row 10 is older than 2 hours');
      assert.equal(s.chats.byId('alice', 7)?.guid, DM);
      assert.equal(s.chats.byKey('alice', '+1555')?.id, 7);
      s.events.ingest('alice', [{ seq: 5, type: 'event', id: 'edit:G12:1', body: { ...row('edit', 12), text: 'edited' } },
        { seq: 6, type: 'event', id: 'unsend:G10', body: { ...row('unsend', 10), unsent_at: null } }], []);
      const hist = s.rows.history({ account: 'alice', chatGuid: DM, limit: 5, start: null, end: null, participants: null, attachments: false });
      assert.deepEqual(hist.map((e) => [e['rowid'], e['text'], e.reactions.map((r) => r.reaction)]), [[12, 'edited', ['love']], [11, 'x11', []], [10, null, []]]);
      // The Mac renumbered the chat (chat.db replaced): its id wins, and no other chat keeps it.
      s.chats.merge('alice', [{ id: 9, guid: DM, identifier: '+1555', name: null, service: 'iMessage', is_group: false, participants: ['+1555'], last_message_at: '2026-02-01T00:00:00.000Z' },
        { id: 7, guid: 'SMS;-;+1666', identifier: '+1666', name: null, service: 'SMS', is_group: false, participants: ['+1666'], last_message_at: null }]);
      assert.equal(s.chats.byKey('alice', DM)?.id, 9);
      assert.equal(s.chats.byId('alice', 7)?.guid, 'SMS;-;+1666');
      assert.deepEqual(s.chats.list(10, 'alice').map((c) => c.guid), [DM, 'SMS;-;+1666']);
    } finally {
      s.close();
      t.cleanup();
    }
  });
});
