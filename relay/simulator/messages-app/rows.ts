// What Messages writes into chat.db the moment it accepts a send: the from-me row (is_sent = 0) joined
// to its chat, a file's attachment row, or, for a phantom chat on macOS 26, an unjoined empty SMS row.
import { existsSync, statSync } from 'node:fs';
import { basename, resolve, sep } from 'node:path';
import { MessagesDb } from '../messages-db.js';
import { encodeAttributedBody } from '../typedstream-writer.js';
import type { SendDirect, SendTarget } from './model.js';
import type { Scenario } from './scenario.js';

/** A row Messages wrote for a send, and how it will turn out (a file the sandbox cannot read fails with error 25). */
export interface WrittenRow {
  readonly rowid: number;
  readonly unreadable?: boolean;
}

/** Messages is sandboxed (messages-app.md §4.1): it reads files only under its own folders (`readableRoot`). */
function readable(s: Scenario, path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  if (s.readableRoot === undefined) return true;
  const root = resolve(s.readableRoot) + sep;
  return resolve(path).startsWith(root);
}

/** Every chat guid in chat.db (the scripting layer's chats when a scenario names none). */
export function chatsInDb(path: string): string[] {
  const db = new MessagesDb(path);
  try {
    return db.db.prepare('SELECT guid FROM chat').pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** Rows from elsewhere landing in chat.db while a send is in flight: inbound and from-me, in a chat of their own. */
function writeNoise(db: MessagesDb, count: number): void {
  const chat = 'iMessage;-;+15550009999';
  db.chat({ guid: chat, identifier: '+15550009999', participants: ['+15550009999'] });
  db.db.transaction(() => {
    for (let i = 0; i < count; i++) db.insert({ chat, handle: '+15550009999', fromMe: i % 2 === 1, isSent: true, text: `synced ${i}` });
  })();
}

export function writeSentRow(s: Scenario, direct: SendDirect, to: SendTarget): WrittenRow | null {
  if ((s.outcome ?? 'delivered') === 'dropped') return null;
  const db = new MessagesDb(s.chatDb);
  try {
    db.db.pragma('busy_timeout = 5000');
    if (s.noiseBefore !== undefined && s.noiseBefore > 0) writeNoise(db, s.noiseBefore);
    if (to.kind === 'chat' && (s.phantomChats ?? []).includes(to.id)) {
      return { rowid: db.insert({ chat: null, fromMe: true, handle: to.id, service: 'SMS', text: '' }).rowid };
    }
    let chatGuid: string;
    let handle: string | null = null;
    // The row goes out over its chat's service (an SMS chat's rows are SMS: no delivery receipts).
    let service: string;
    if (to.kind === 'chat') {
      chatGuid = to.id;
      const row = db.db.prepare('SELECT chat_identifier AS id, style, service_name AS service FROM chat WHERE guid = ?').get(chatGuid) as { id: string; style: number; service: string | null } | undefined;
      if (row === undefined) throw new Error(`fake Messages: chat ${chatGuid} is not in chat.db`);
      db.chat({ guid: chatGuid, identifier: row.id, group: row.style === 43, participants: [] });
      handle = row.style === 43 ? null : row.id;
      service = row.service ?? 'iMessage';
    } else {
      chatGuid = `${to.service};-;${to.handle}`;
      db.chat({ guid: chatGuid, identifier: to.handle, service: to.service, participants: [to.handle] });
      handle = to.handle;
      service = to.service;
    }
    if (direct.kind === 'text') {
      return { rowid: db.insert({ chat: chatGuid, fromMe: true, handle, service, text: direct.value, body: encodeAttributedBody(direct.value) }).rowid };
    }
    const guid = `at_0_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
    const { rowid } = db.insert({ chat: chatGuid, fromMe: true, handle, service, text: '\uFFFC', body: encodeAttributedBody('\uFFFC', [{ length: 1, fileTransferGuid: guid }]) });
    const ok = readable(s, direct.value);
    db.attach(rowid, { guid, filename: direct.value, name: basename(direct.value), bytes: ok ? statSync(direct.value).size : 0, outgoing: true });
    return { rowid, unreadable: !ok };
  } finally {
    db.close();
  }
}
