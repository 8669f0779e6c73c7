// The sender finds the rows its sends made however many rows landed before them: the real Sender
// with the real Mac store, chat.db lookups and staging folder, sending through the fake osascript
// (our JXA against the simulated Messages, a child process) while 600 other rows land first.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SentRows } from '../../relay/chatdb/sent-rows.js';
import { systemClock } from '../../relay/clock.js';
import { silentLogger } from '../../relay/logger.js';
import { runScript } from '../../relay/messages-app/osascript.js';
import { Sender } from '../../relay/messages-app/sender.js';
import { AttachmentStaging } from '../../relay/messages-app/staging.js';
import { MacStore } from '../../relay/store/mac-store.js';
import { waitFor } from '../support/chatdb-env.js';
import { FakeMessages } from '../support/fake-messages.js';

const DM = 'iMessage;-;+15555550123';
const ALICE = '+15555550123';

describe('the sender past 500 rows', () => {
  let m: FakeMessages;
  let store: MacStore;
  let rows: SentRows;
  let staging: AttachmentStaging;
  let sender: Sender | null = null;
  let seq = 0;

  beforeEach(() => {
    m = new FakeMessages();
    m.db.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    store = new MacStore(join(m.dir, 'relay.db'), () => Date.now());
    rows = new SentRows(m.db.path);
    staging = new AttachmentStaging(join(m.dir, 'stage'), 10_000_000);
  });
  afterEach(async () => {
    await sender?.stop();
    sender = null;
    rows.close();
    store.close();
    m.cleanup();
  });

  const start = (): Sender => {
    sender = new Sender({
      store, rows, staging, clock: systemClock, logger: silentLogger(),
      run: (name, args) => runScript(name, args, m.options()),
      options: { perSecond: 50, perChatPerSecond: 50, confirmMs: 3000, pollMs: 50 },
    });
    sender.start();
    return sender;
  };
  const command = (body: Record<string, unknown>): string => {
    const id = randomUUID();
    store.receiveCommands([{ seq: ++seq, id, body: { kind: 'send', ...body } }]);
    return id;
  };
  const stateOf = (id: string): { state: string; appleGuid: string | null } | null => {
    for (const s of ['received', 'sending', 'sent', 'delivered', 'read', 'failed', 'unknown']) {
      const c = store.commandsInState(s).find((x) => x.commandId === id);
      if (c !== undefined) return { state: s, appleGuid: c.appleGuid };
    }
    return null;
  };

  it('a file whose row lands after 600 other rows is found, followed to delivered, and its staged copy removed', async () => {
    m.set({ sentAfterMs: 50, finalAfterMs: 50, noiseBefore: 600 });
    const data = randomBytes(10_000);
    const id = command({ chat_guid: DM, file: { id: randomUUID(), name: 'photo.jpeg', bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') } });
    staging.writeChunk(id, 0, data);
    start();
    await waitFor(() => ['delivered', 'failed', 'unknown'].includes(stateOf(id)?.state ?? ''), 'the file send to end', 30_000);
    const row = m.db.db.prepare("SELECT m.ROWID AS rowid, m.guid FROM message m JOIN message_attachment_join j ON j.message_id = m.ROWID JOIN attachment a ON a.ROWID = j.attachment_id WHERE a.transfer_name = 'photo.jpeg'").get() as { rowid: number; guid: string };
    assert.equal(Number(m.db.db.prepare("SELECT COUNT(*) FROM message WHERE text LIKE 'synced %' AND ROWID < ?").pluck().get(row.rowid)), 600);
    assert.deepEqual(stateOf(id), { state: 'delivered', appleGuid: row.guid });
    assert.equal(m.sends().length, 1);
    await waitFor(() => !existsSync(join(m.dir, 'stage', id)), 'the staged file to be removed');
  });

  it('a send left `sending` by a crash, its row 600 rows past the noted ROWID: reconciled to the row, not sent again', async () => {
    const text = 'written while the relay was down';
    const id = command({ chat_guid: DM, text });
    store.markSending(id, rows.maxRowid());
    const noise = 'iMessage;-;+15550009999';
    m.db.chat({ guid: noise, identifier: '+15550009999', participants: ['+15550009999'] });
    for (let i = 0; i < 600; i++) m.db.insert({ chat: noise, handle: '+15550009999', fromMe: i % 2 === 1, isSent: true, text: `synced ${i}` });
    const written = m.db.insert({ chat: DM, handle: ALICE, fromMe: true, isSent: true, text });
    m.set({ sentAfterMs: 50, finalAfterMs: 50 });
    start();
    await waitFor(() => ['sent', 'delivered', 'failed', 'unknown'].includes(stateOf(id)?.state ?? ''), 'the reconciled state', 10_000);
    assert.deepEqual(stateOf(id), { state: 'sent', appleGuid: written.guid });
    assert.equal(m.sends().length, 0, 'never sent again');
  });
});
