// Finding and following the rows our sends produce (chatdb.md §5.3–5.5): the from-me row in the
// target chat above the ROWID noted before osascript ran (every from-me row above it, page after
// page), with the same visible text (NFC, U+FFFC removed on both sides, as events carry it); the
// macOS 26 ghost row (empty, unjoined, SMS); and the row's state as Messages updates it.
import type { ChatDbConnection } from './connection.js';
import { openChatDb } from './connection.js';
import { deliveryStatus, noReceipts } from './change-tracker.js';
import type { RawMessageRow } from './queries.js';
import { rowText } from './row-mapper.js';
import { visibleText } from '../typedstream/attributed-body.js';

export interface SentRow {
  readonly rowid: number;
  readonly guid: string;
  /** pending (not yet accepted), sent, delivered, read or failed. */
  readonly status: 'pending' | 'sent' | 'delivered' | 'read' | 'failed';
  readonly error: number | null;
  /** Group or non-iMessage: no delivery receipts, `sent` is final. */
  readonly noReceipts: boolean;
  /** The chat the row is in (guid and chat.db ROWID; null for an unjoined row) and its service. */
  readonly chatGuid: string | null;
  readonly chatId: number | null;
  readonly service: string | null;
}

export type SentTarget = { readonly chatGuid: string } | { readonly handle: string; readonly service: string };

const norm = (s: string | null): string => (s ?? '').normalize('NFC');
/** A text as a row's decoded body shows it: NFC, object replacement characters (U+FFFC) removed. */
const visible = (s: string | null): string => visibleText(norm(s));
/** From-me rows read per statement; the search pages on until chat.db has no more. */
const PAGE = 500;

function toSent(row: RawMessageRow): SentRow {
  return { rowid: Number(row.rowid), guid: row.guid, status: deliveryStatus(row), error: row.error === null || row.error === 0n ? null : Number(row.error), noReceipts: noReceipts(row),
    chatGuid: row.chat_guid, chatId: row.chat_rowid === null ? null : Number(row.chat_rowid), service: row.service };
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

  /** Every from-me row above `afterRowid`, page after page (however many rows landed since). */
  private *fromMeAbove(afterRowid: number): Generator<RawMessageRow> {
    let after = afterRowid;
    for (;;) {
      const page = this.c().queries.fromMePage.all(after, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = Number(page[page.length - 1]!.rowid);
    }
  }

  private static inTarget(row: RawMessageRow, target: SentTarget): boolean {
    if (row.is_from_me !== 1n || row.chat_guid === null) return false;
    return 'chatGuid' in target
      ? row.chat_guid === target.chatGuid
      : row.chat_identifier === target.handle && !row.chat_guid.includes(';+;');
  }

  /** The from-me row for this text in this chat (or DM with this handle) above `afterRowid`, if any. */
  find(target: SentTarget, text: string, afterRowid: number): SentRow | null {
    const want = visible(text);
    for (const row of this.fromMeAbove(afterRowid)) {
      if (SentRows.inTarget(row, target) && visible(rowText(row).text) === want) return toSent(row);
    }
    return null;
  }

  /**
   * The from-me row that carries a file we sent: in this chat (or DM) above `afterRowid`, with an
   * attachment whose transfer name is the staged file's name (messages-app.md §4.4).
   */
  findFile(target: SentTarget, name: string, afterRowid: number): SentRow | null {
    const want = norm(name);
    let batch: RawMessageRow[] = [];
    const look = (): SentRow | null => {
      if (batch.length === 0) return null;
      const named = new Set(this.c().queries.attachments.all(JSON.stringify(batch.map((r) => Number(r.rowid))))
        .filter((a) => norm(a.name) === want).map((a) => Number(a.message_id)));
      const row = batch.find((r) => named.has(Number(r.rowid)));
      batch = [];
      return row === undefined ? null : toSent(row);
    };
    for (const row of this.fromMeAbove(afterRowid)) {
      if (!SentRows.inTarget(row, target)) continue;
      batch.push(row);
      if (batch.length >= PAGE) {
        const found = look();
        if (found !== null) return found;
      }
    }
    return look();
  }

  /** True when every attachment of this row has finished transferring (transfer_state 5). */
  transferFinished(rowid: number): boolean {
    const list = this.c().queries.attachments.all(JSON.stringify([rowid]));
    return list.length > 0 && list.every((a) => a.transfer_state === 5n);
  }

  /** An empty, unjoined from-me SMS row above `afterRowid`: macOS 26 accepted the send and dropped it. */
  ghost(afterRowid: number): SentRow | null {
    for (const row of this.fromMeAbove(afterRowid)) {
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
