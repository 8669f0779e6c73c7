// The SQL the reader runs against chat.db, built once per connection from the probed columns.
// Every statement is short and fully consumed (no snapshot is held between polls).
import type Database from 'better-sqlite3';
import type { Capabilities } from './capabilities.js';

/** One message row as the queries return it (integers as BigInt: chat.db dates exceed 2^53). */
export interface RawMessageRow {
  rowid: bigint;
  guid: string;
  text: string | null;
  body: Buffer | null;
  is_from_me: bigint | null;
  service: string | null;
  date: bigint | null;
  date_read: bigint | null;
  date_delivered: bigint | null;
  date_edited: bigint | null;
  date_retracted: bigint | null;
  is_sent: bigint | null;
  is_delivered: bigint | null;
  error: bigint | null;
  item_type: bigint | null;
  group_action_type: bigint | null;
  group_title: string | null;
  associated_message_guid: string | null;
  associated_message_type: bigint | null;
  associated_message_emoji: string | null;
  thread_originator_guid: string | null;
  balloon_bundle_id: string | null;
  summary: Buffer | null;
  handle: string | null;
  other_handle: string | null;
  chat_rowid: bigint | null;
  chat_guid: string | null;
  chat_identifier: string | null;
  chat_name: string | null;
  chat_style: bigint | null;
}

/** What tells whether an edited row changed, without reading its blob: edit and unsend dates, summary length. */
export interface EditStateRow {
  rowid: bigint;
  date_edited: bigint | null;
  date_retracted: bigint | null;
  /** length(message_summary_info) in bytes, null when there is none. */
  summary_bytes: bigint | null;
}

export interface RawAttachmentRow {
  message_id: bigint;
  guid: string;
  name: string | null;
  filename: string | null;
  mime_type: string | null;
  uti: string | null;
  bytes: bigint | null;
  /** IMFileTransfer state: 5 is finished (chatdb.md, messages-app.md §4.4). */
  transfer_state: bigint | null;
}

export interface RawParticipantRow {
  chat_id: bigint;
  handle: string;
}

/** One chat as the history queries list it (integers as BigInt). */
export interface RawChatRow {
  id: bigint;
  guid: string;
  identifier: string | null;
  name: string | null;
  style: bigint | null;
  service: string | null;
  /** Apple time of its newest message (null when it has none). */
  last_date: bigint | null;
}

/** Bounds of one page of a chat's history (Apple times as BigInt, null = unbounded). */
export interface HistoryBounds {
  chat: number;
  before: number;
  start: bigint | null;
  end: bigint | null;
  limit: number;
}

/** Prepared statements for one connection. */
export interface ChatDbQueries {
  /** Rows with ROWID > after, in ROWID order, at most `limit`. */
  readonly page: Database.Statement<[number, number], RawMessageRow>;
  /** From-me rows with ROWID > after, in ROWID order, at most `limit` (the sender's search for its rows). */
  readonly fromMePage: Database.Statement<[number, number], RawMessageRow>;
  /** Edit state of the rows in (low, high] that carry an edit date (no joins, no blobs: read on every changed poll). */
  readonly edited: Database.Statement<[number, number], EditStateRow>;
  /** Rows whose ROWIDs are in the JSON array. */
  readonly byRowids: Database.Statement<[string], RawMessageRow>;
  /** Attachments of the messages with ROWIDs in the JSON array. */
  readonly attachments: Database.Statement<[string], RawAttachmentRow>;
  /** Participants of the chats with ROWIDs in the JSON array. */
  readonly participants: Database.Statement<[string], RawParticipantRow>;
  readonly maxRowid: Database.Statement<[], bigint | null>;
  readonly rowidByGuid: Database.Statement<[string], bigint>;
  /** The highest ROWID whose date is at most the given Apple time. */
  readonly lastRowidAtOrBefore: Database.Statement<[bigint], bigint | null>;
  readonly dataVersion: Database.Statement<[], bigint>;
  /** Chats, newest activity first, at most `limit` (history: `chats` query). */
  readonly chats: Database.Statement<[number], RawChatRow>;
  /** The chat with this ROWID. */
  readonly chatById: Database.Statement<[number], RawChatRow>;
  /** The most recently active chat with this guid or chat_identifier. */
  readonly chatByKey: Database.Statement<[string, string], RawChatRow>;
  /** A chat's message rows (no tapbacks, no group events) below `before`, newest first, within the date bounds. */
  readonly historyPage: Database.Statement<[HistoryBounds], RawMessageRow>;
  /** A chat's tapback rows above a ROWID, oldest first, at most `limit` (to add up on the messages they target). */
  readonly reactionRows: Database.Statement<[number, number, number], RawMessageRow>;
}

/** Builds and prepares the reader's statements; columns this chat.db lacks read as NULL. */
export function prepareQueries(db: Database.Database, caps: Capabilities): ChatDbQueries {
  const col = (table: string, alias: string, column: string, as = column): string =>
    caps.has(table, column) ? `${alias}.${column} AS ${as}` : `NULL AS ${as}`;
  const m = (column: string, as = column): string => col('message', 'm', column, as);
  const select = [
    'm.ROWID AS rowid', 'm.guid AS guid', m('text'), m('attributedBody', 'body'), m('is_from_me'), m('service'),
    m('date'), m('date_read'), m('date_delivered'), m('date_edited'), m('date_retracted'), m('is_sent'),
    m('is_delivered'), m('error'), m('item_type'), m('group_action_type'), m('group_title'),
    m('associated_message_guid'), m('associated_message_type'), m('associated_message_emoji'),
    m('thread_originator_guid'), m('balloon_bundle_id'), m('message_summary_info', 'summary'),
    'h.id AS handle', 'oh.id AS other_handle', 'c.ROWID AS chat_rowid', 'c.guid AS chat_guid',
    col('chat', 'c', 'chat_identifier'), col('chat', 'c', 'display_name', 'chat_name'), col('chat', 'c', 'style', 'chat_style'),
  ].join(', ');
  const from = `FROM message m
    LEFT JOIN chat c ON c.ROWID = (SELECT cmj.chat_id FROM chat_message_join cmj WHERE cmj.message_id = m.ROWID ORDER BY cmj.chat_id LIMIT 1)
    LEFT JOIN handle h ON h.ROWID = ${caps.has('message', 'handle_id') ? 'm.handle_id' : 'NULL'}
    LEFT JOIN handle oh ON oh.ROWID = ${caps.has('message', 'other_handle') ? 'm.other_handle' : 'NULL'}`;
  const editCond = caps.has('message', 'date_edited') ? 'COALESCE(m.date_edited, 0) > 0' : '0';
  const big = <P extends unknown[], R>(s: Database.Statement): Database.Statement<P, R> =>
    s.safeIntegers(true) as unknown as Database.Statement<P, R>;
  const hasAttachments = caps.has('attachment', 'guid') && caps.has('message_attachment_join', 'message_id');
  const a = (column: string, as = column): string => col('attachment', 'a', column, as);
  return {
    page: big<[number, number], RawMessageRow>(db.prepare(`SELECT ${select} ${from} WHERE m.ROWID > ? ORDER BY m.ROWID LIMIT ?`)),
    fromMePage: big<[number, number], RawMessageRow>(db.prepare(`SELECT ${select} ${from} WHERE m.ROWID > ? AND ${caps.has('message', 'is_from_me') ? 'm.is_from_me = 1' : '0'} ORDER BY m.ROWID LIMIT ?`)),
    edited: big<[number, number], EditStateRow>(db.prepare(`SELECT m.ROWID AS rowid, ${m('date_edited')}, ${m('date_retracted')},
      ${caps.has('message', 'message_summary_info') ? 'length(m.message_summary_info)' : 'NULL'} AS summary_bytes
      FROM message m WHERE m.ROWID > ? AND m.ROWID <= ? AND ${editCond} ORDER BY m.ROWID`)),
    byRowids: big<[string], RawMessageRow>(db.prepare(`SELECT ${select} ${from} WHERE m.ROWID IN (SELECT value FROM json_each(?)) ORDER BY m.ROWID`)),
    attachments: big<[string], RawAttachmentRow>(db.prepare(hasAttachments
      ? `SELECT maj.message_id AS message_id, a.guid AS guid, ${a('transfer_name', 'name')}, ${a('filename')}, ${a('mime_type')},
           ${a('uti')}, ${a('total_bytes', 'bytes')}, ${a('transfer_state')}
         FROM message_attachment_join maj JOIN attachment a ON a.ROWID = maj.attachment_id
         WHERE maj.message_id IN (SELECT value FROM json_each(?)) ORDER BY maj.message_id, a.ROWID`
      : 'SELECT NULL AS message_id, NULL AS guid, NULL AS name, NULL AS filename, NULL AS mime_type, NULL AS uti, NULL AS bytes, NULL AS transfer_state WHERE ? AND 0')),
    participants: big<[string], RawParticipantRow>(db.prepare(`SELECT chj.chat_id AS chat_id, h.id AS handle FROM chat_handle_join chj JOIN handle h ON h.ROWID = chj.handle_id
      WHERE chj.chat_id IN (SELECT value FROM json_each(?)) ORDER BY chj.chat_id, h.ROWID`)),
    maxRowid: big<[], bigint | null>(db.prepare('SELECT MAX(ROWID) FROM message').pluck()),
    rowidByGuid: big<[string], bigint>(db.prepare('SELECT ROWID FROM message WHERE guid = ?').pluck()),
    lastRowidAtOrBefore: big<[bigint], bigint | null>(db.prepare(`SELECT MAX(ROWID) FROM message WHERE ${caps.has('message', 'date') ? 'date' : 'NULL'} <= ?`).pluck()),
    dataVersion: big<[], bigint>(db.prepare('PRAGMA data_version').pluck()),
    ...historyQueries(db, caps, select, from, big),
  };
}

/** The statements of history and chat listing (the hub's link queries), on the same select as the reader's. */
function historyQueries(db: Database.Database, caps: Capabilities, select: string, from: string,
  big: <P extends unknown[], R>(s: Database.Statement) => Database.Statement<P, R>): Pick<ChatDbQueries, 'chats' | 'chatById' | 'chatByKey' | 'historyPage' | 'reactionRows'> {
  const c = (column: string, as = column): string => (caps.has('chat', column) ? `c.${column} AS ${as}` : `NULL AS ${as}`);
  const lastDate = caps.has('chat_message_join', 'message_date')
    ? '(SELECT MAX(cmj.message_date) FROM chat_message_join cmj WHERE cmj.chat_id = c.ROWID)'
    : `(SELECT MAX(${caps.has('message', 'date') ? 'mm.date' : 'NULL'}) FROM chat_message_join cmj JOIN message mm ON mm.ROWID = cmj.message_id WHERE cmj.chat_id = c.ROWID)`;
  const chat = `SELECT c.ROWID AS id, c.guid AS guid, ${c('chat_identifier', 'identifier')}, ${c('display_name', 'name')}, ${c('style')},
    ${c('service_name', 'service')}, ${lastDate} AS last_date FROM chat c`;
  const assoc = caps.has('message', 'associated_message_type') ? 'COALESCE(m.associated_message_type, 0)' : '0';
  const itemType = caps.has('message', 'item_type') ? 'COALESCE(m.item_type, 0)' : '0';
  const date = caps.has('message', 'date') ? 'm.date' : 'NULL';
  const inChat = 'm.ROWID IN (SELECT cmj.message_id FROM chat_message_join cmj WHERE cmj.chat_id = ?)';
  return {
    chats: big<[number], RawChatRow>(db.prepare(`${chat} ORDER BY last_date IS NULL, last_date DESC, c.ROWID DESC LIMIT ?`)),
    chatById: big<[number], RawChatRow>(db.prepare(`${chat} WHERE c.ROWID = ?`)),
    chatByKey: big<[string, string], RawChatRow>(db.prepare(`${chat} WHERE c.guid = ? OR ${caps.has('chat', 'chat_identifier') ? 'c.chat_identifier' : 'NULL'} = ?
      ORDER BY last_date IS NULL, last_date DESC, c.ROWID DESC LIMIT 1`)),
    historyPage: big<[HistoryBounds], RawMessageRow>(db.prepare(`SELECT ${select} ${from}
      WHERE m.ROWID IN (SELECT cmj.message_id FROM chat_message_join cmj WHERE cmj.chat_id = @chat) AND m.ROWID < @before
        AND ${itemType} = 0 AND ${assoc} IN (0, 2, 3)
        AND (@start IS NULL OR ${date} >= @start) AND (@end IS NULL OR ${date} < @end)
      ORDER BY m.ROWID DESC LIMIT @limit`)),
    reactionRows: big<[number, number, number], RawMessageRow>(db.prepare(`SELECT ${select} ${from}
      WHERE ${inChat} AND m.ROWID > ? AND (${assoc} BETWEEN 2000 AND 2007 OR ${assoc} BETWEEN 3000 AND 3007)
      ORDER BY m.ROWID LIMIT ?`)),
  };
}
