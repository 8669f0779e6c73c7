// What Messages writes into chat.db the moment it accepts a send: the from-me row (is_sent = 0) joined
// to its chat, a file's attachment row, or, for a phantom chat on macOS 26, an unjoined empty SMS row.
import { basename } from 'node:path';
import { MessagesDb } from '../../../relay/simulator/messages-db.js';
import { encodeAttributedBody } from '../../../relay/simulator/typedstream-writer.js';
import type { SendDirect, SendTarget } from './messages-model.js';
import type { Scenario } from './scenario.js';

/** Every chat guid in chat.db (the scripting layer's chats when a scenario names none). */
export function chatsInDb(path: string): string[] {
  const db = new MessagesDb(path);
  try {
    return db.db.prepare('SELECT guid FROM chat').pluck().all() as string[];
  } finally {
    db.close();
  }
}

export function writeSentRow(s: Scenario, direct: SendDirect, to: SendTarget): { rowid: number } | null {
  if ((s.outcome ?? 'delivered') === 'dropped') return null;
  const db = new MessagesDb(s.chatDb);
  try {
    db.db.pragma('busy_timeout = 5000');
    if (to.kind === 'chat' && (s.phantomChats ?? []).includes(to.id)) {
      return { rowid: db.insert({ chat: null, fromMe: true, handle: to.id, service: 'SMS', text: '' }).rowid };
    }
    let chatGuid: string;
    let handle: string | null = null;
    if (to.kind === 'chat') {
      chatGuid = to.id;
      const row = db.db.prepare('SELECT chat_identifier AS id, style FROM chat WHERE guid = ?').get(chatGuid) as { id: string; style: number } | undefined;
      if (row === undefined) throw new Error(`fake Messages: chat ${chatGuid} is not in chat.db`);
      db.chat({ guid: chatGuid, identifier: row.id, group: row.style === 43, participants: [] });
      handle = row.style === 43 ? null : row.id;
    } else {
      chatGuid = `${to.service};-;${to.handle}`;
      db.chat({ guid: chatGuid, identifier: to.handle, service: to.service, participants: [to.handle] });
      handle = to.handle;
    }
    if (direct.kind === 'text') {
      return { rowid: db.insert({ chat: chatGuid, fromMe: true, handle, text: direct.value, body: encodeAttributedBody(direct.value) }).rowid };
    }
    const guid = `at_0_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
    const { rowid } = db.insert({ chat: chatGuid, fromMe: true, handle, text: '\uFFFC', body: encodeAttributedBody('\uFFFC', [{ length: 1, fileTransferGuid: guid }]) });
    db.attach(rowid, { guid, filename: direct.value, name: basename(direct.value) });
    return { rowid };
  } finally {
    db.close();
  }
}
