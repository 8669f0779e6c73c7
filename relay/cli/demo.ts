// `imessage-relay demo`: the relay's main job on a built-in default, on any machine. A simulated
// Messages writes a short conversation into a fresh chat.db (WAL, writer kept open, rows updated
// after insert as Messages does) and the real reader + watcher print what the relay forwards.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { ChatDbReader } from '../chatdb/reader.js';
import { ChatDbWatcher } from '../chatdb/watcher.js';
import { silentLogger } from '../logger.js';
import { unixMsToApple } from '../model/apple-time.js';
import type { RelayEvent } from '../model/events.js';
import { MessagesDb } from '../simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../simulator/schema.js';
import { encodeAttributedBody as encodeBody } from '../simulator/typedstream-writer.js';
import { formatEvent } from './format-event.js';
import type { CliIo } from './io.js';

export const DEMO_USAGE = `imessage-relay demo [--json]
  Runs the relay's reader against a simulated Messages (a fresh chat.db in a temp folder) and
  prints every event it forwards: messages, a group, a tapback, an edit, a reply's delivery.`;

const ALICE = '+15555550123';
const BOB = 'bob@example.com';
const DM = `iMessage;-;${ALICE}`;
const GROUP = 'iMessage;+;chat100000000000000001';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the demo; resolves with the exit code. */
export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean' } }, strict: true });
  const home = mkdtempSync(join(tmpdir(), 'imessage-relay-demo-'));
  const dir = join(home, 'Library', 'Messages');
  mkdirSync(join(dir, 'Attachments'), { recursive: true });
  const messages = new MessagesDb(join(dir, 'chat.db'), [MINIMAL_CHATDB_SCHEMA]);
  const seen: RelayEvent[] = [];
  const reader = new ChatDbReader({
    path: messages.path, clock: systemClock, logger: silentLogger(), homeDir: home, state: null, startAfter: 'end',
    options: { settleMs: 250 },
    commit: (events) => {
      for (const e of events) io.stdout(`${values.json === true ? JSON.stringify(e) : formatEvent(e)}\n`);
      seen.push(...events);
    },
  });
  const watcher = new ChatDbWatcher({ path: messages.path, poll: () => reader.poll(), clock: systemClock, logger: silentLogger() });
  if (values.json !== true) io.stderr(`demo: simulated Messages at ${dir}\n`);
  watcher.start();
  try {
    messages.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    messages.chat({ guid: GROUP, identifier: 'chat100000000000000001', group: true, name: 'Weekend crew', participants: [ALICE, BOB] });
    const hello = messages.insert({ chat: DM, handle: ALICE, body: encodeBody('Hi! Can you remind me to buy milk?') });
    await wait(400);
    const reply = messages.insert({ chat: DM, fromMe: true, handle: ALICE, body: encodeBody('Sure, at 6 pm.') });
    await wait(100);
    messages.update(reply.rowid, { is_sent: 1, is_finished: 1 });
    await wait(400);
    messages.update(reply.rowid, { is_delivered: 1, date_delivered: unixMsToApple(Date.now()) });
    messages.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${reply.guid}`, associatedType: 2000 });
    await wait(400);
    messages.update(hello.rowid, { attributedBody: encodeBody('Hi! Can you remind me to buy oat milk?'), date_edited: unixMsToApple(Date.now()) });
    const photo = join(dir, 'Attachments', 'ab', 'IMG_0001.jpeg');
    mkdirSync(join(dir, 'Attachments', 'ab'), { recursive: true });
    writeFileSync(photo, Buffer.alloc(1024));
    const pic = messages.insert({ chat: GROUP, handle: BOB, body: encodeBody('look @Alice \uFFFC', [{ length: 5 }, { length: 6, mention: ALICE }, { length: 1 }, { length: 1, fileTransferGuid: 'at_0_DEMO' }]) });
    messages.attach(pic.rowid, { guid: 'at_0_DEMO', filename: '~/Library/Messages/Attachments/ab/IMG_0001.jpeg', mimeType: 'image/jpeg', uti: 'public.jpeg', bytes: 1024 });
    messages.insert({ chat: GROUP, handle: BOB, itemType: 2, groupTitle: 'Hiking crew' });
    messages.insert({ chat: DM, handle: ALICE, text: 'an old message synced from iCloud', dateMs: Date.now() - 3 * 24 * 3600_000 });
    await wait(800);
    if (values.json !== true) io.stderr(`demo: ${seen.length} events forwarded; the simulated Messages is removed\n`);
    return seen.length > 0 ? 0 : 1;
  } finally {
    watcher.stop();
    reader.close();
    messages.close();
    rmSync(home, { recursive: true, force: true });
  }
}
