// Finding and following the rows our sends produce (chatdb.md §5.3–5.5): the from-me row in the
// target chat above the ROWID noted before osascript ran, with the same text (Unicode-normalised);
// the macOS 26 ghost row (empty, unjoined, SMS); and the row's state as Messages updates it.
import type { ChatDbConnection } from './connection.js';
import { openChatDb } from './connection.js';
import { deliveryStatus, noReceipts } from './change-tracker.js';
import type { RawMessageRow } from './queries.js';
import { rowText } from './row-mapper.js';

export interface SentRow {
  readonly rowid: number;
  readonly guid: string;
  /** pending (not yet accepted), sent, delivered, read or failed. */
  readonly status: 'pending' | 'sent' | 'delivered' | 'read' | 'failed';
  readonly error: number | null;
  /** Group or non-iMessage: no delivery receipts, `sent` is final. */
  readonly noReceipts: boolean;
}

export type SentTarget = { readonly chatGuid: string } | { readonly handle: string; readonly service: string };

const norm = (s: string | null): string => (s ?? '').normalize('NFC');

function toSent(row: RawMessageRow): SentRow {
  return { rowid: Number(row.rowid), guid: row.guid, status: deliveryStatus(row), error: row.error === null || row.error === 0n ? null : Number(row.error), noReceipts: noReceipts(row) };
}

/** Read-only lookups for the sender; opens its own short-lived statements on a read-only connection. */
export class SentRows {
  private conn: ChatDbConnection | null = null;

  constructor(private readonly path: string) {}

  private c(): ChatDbConnection {
    if (this.conn !== null && this.conn.replaced()) { this.conn.close(); this.conn = null; }
    this.conn ??= openChatDb(this.path);
    return this.conn;
  }

  close(): void {
    this.conn?.close();
    this.conn = null;
  }

  maxRowid(): number {
    return Number(this.c().queries.maxRowid.get() ?? 0n);
  }

  /** The from-me row for this text in this chat (or DM with this handle) above `afterRowid`, if any. */
  find(target: SentTarget, text: string, afterRowid: number): SentRow | null {
    const want = norm(text);
    for (const row of this.c().queries.page.all(afterRowid, 500)) {
      if (row.is_from_me !== 1n || row.chat_guid === null) continue;
      const matchesChat = 'chatGuid' in target
        ? row.chat_guid === target.chatGuid
        : row.chat_identifier === target.handle && !row.chat_guid.includes(';+;');
      if (matchesChat && norm(rowText(row).text) === want) return toSent(row);
    }
    return null;
  }

  /**
   * The from-me row that carries a file we sent: in this chat (or DM) above `afterRowid`, with an
   * attachment whose transfer name is the staged file's name (messages-app.md §4.4).
   */
  findFile(target: SentTarget, name: string, afterRowid: number): SentRow | null {
    const want = norm(name);
    const candidates = this.c().queries.page.all(afterRowid, 500).filter((row) => row.is_from_me === 1n && row.chat_guid !== null && ('chatGuid' in target
      ? row.chat_guid === target.chatGuid
      : row.chat_identifier === target.handle && !row.chat_guid.includes(';+;')));
    if (candidates.length === 0) return null;
    const named = new Set(this.c().queries.attachments.all(JSON.stringify(candidates.map((r) => Number(r.rowid))))
      .filter((a) => norm(a.name) === want).map((a) => Number(a.message_id)));
    const row = candidates.find((r) => named.has(Number(r.rowid)));
    return row === undefined ? null : toSent(row);
  }

  /** True when every attachment of this row has finished transferring (transfer_state 5). */
  transferFinished(rowid: number): boolean {
    const list = this.c().queries.attachments.all(JSON.stringify([rowid]));
    return list.length > 0 && list.every((a) => a.transfer_state === 5n);
  }

  /** An empty, unjoined from-me SMS row above `afterRowid`: macOS 26 accepted the send and dropped it. */
  ghost(afterRowid: number): SentRow | null {
    for (const row of this.c().queries.page.all(afterRowid, 500)) {
      if (row.is_from_me === 1n && row.chat_guid === null && row.service === 'SMS' && norm(rowText(row).text) === '') return toSent(row);
    }
    return null;
  }

  /** The current state of a row we found earlier (null if it is gone). */
  state(rowid: number): SentRow | null {
    const [row] = this.c().queries.byRowids.all(JSON.stringify([rowid]));
    return row === undefined ? null : toSent(row);
  }
}
