// Writes chat.db the way Messages does (a row and its chat join together; later UPDATEs for
// is_from_me, sending state, edits; late attachment joins), for the demo and the tests.
// It keeps its writer connection open in WAL mode, as Messages does.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { unixMsToApple } from '../model/apple-time.js';

export interface ChatSpec {
  readonly guid: string;
  readonly identifier: string;
  readonly group?: boolean;
  readonly name?: string | null;
  readonly service?: string;
  readonly participants: readonly string[];
}

export interface MessageSpec {
  readonly chat?: string | null;
  readonly guid?: string;
  readonly text?: string | null;
  readonly body?: Buffer | null;
  readonly fromMe?: boolean;
  /** Sender (incoming) or recipient (from-me 1:1) handle id. */
  readonly handle?: string | null;
  readonly service?: string;
  readonly dateMs?: number;
  readonly isSent?: boolean;
  readonly isDelivered?: boolean;
  readonly error?: number;
  readonly itemType?: number;
  readonly groupActionType?: number;
  readonly groupTitle?: string | null;
  readonly otherHandle?: string | null;
  readonly associatedGuid?: string | null;
  readonly associatedType?: number;
  readonly emoji?: string | null;
  readonly threadOriginator?: string | null;
  readonly summary?: Buffer | null;
  readonly dateEditedMs?: number;
}

export interface AttachmentSpec {
  readonly guid?: string;
  readonly filename: string;
  readonly name?: string;
  readonly mimeType?: string;
  readonly uti?: string;
  readonly bytes?: number;
  /** Sent by us (is_outgoing = 1; transfer_state starts at 0 and reaches 5 when uploaded). Incoming ones start finished (5). */
  readonly outgoing?: boolean;
}

/** A writer connection that behaves like Messages. */
export class MessagesDb {
  readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly chats = new Map<string, { rowid: number; group: boolean; room: string | null }>();

  /** Opens (or creates with `schemaSql`) chat.db at `path` in WAL mode and keeps it open. */
  constructor(readonly path: string, schemaSql?: readonly string[]) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    for (const sql of schemaSql ?? []) this.db.exec(sql);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A prepared statement, cached: bursts of thousands of inserts stay cheap. */
  private sql(text: string): Database.Statement {
    let s = this.stmts.get(text);
    if (s === undefined) {
      s = this.db.prepare(text);
      this.stmts.set(text, s);
    }
    return s;
  }

  handle(id: string, service = 'iMessage'): number {
    const found = (this.sql('SELECT ROWID FROM handle WHERE id = ? AND service = ?').pluck() as Database.Statement).get(id, service) as number | undefined;
    if (found !== undefined) return found;
    return Number(this.db.prepare('INSERT INTO handle (id, service, uncanonicalized_id) VALUES (?, ?, ?)').run(id, service, id).lastInsertRowid);
  }

  chat(spec: ChatSpec): number {
    const known = this.chats.get(spec.guid);
    if (known !== undefined) return known.rowid;
    const existing = this.db.prepare('SELECT ROWID AS rowid, style, room_name AS room FROM chat WHERE guid = ?').get(spec.guid) as
      { rowid: number; style: number; room: string | null } | undefined;
    if (existing !== undefined) {
      this.chats.set(spec.guid, { rowid: existing.rowid, group: existing.style === 43, room: existing.room });
      return existing.rowid;
    }
    const service = spec.service ?? 'iMessage';
    const group = spec.group ?? false;
    const rowid = Number(this.db.prepare(`INSERT INTO chat (guid, style, chat_identifier, service_name, room_name, display_name, group_id)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(spec.guid, group ? 43 : 45, spec.identifier, service, group ? spec.identifier : null,
      spec.name ?? '', randomUUID().toUpperCase()).lastInsertRowid);
    for (const p of spec.participants) {
      this.db.prepare('INSERT OR IGNORE INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)').run(rowid, this.handle(p, service));
    }
    this.chats.set(spec.guid, { rowid, group, room: group ? spec.identifier : null });
    return rowid;
  }

  /** Inserts a message row and its chat join in one transaction, as Messages does. Returns ROWID. */
  insert(spec: MessageSpec): { rowid: number; guid: string } {
    const guid = spec.guid ?? randomUUID().toUpperCase();
    const chat = spec.chat === undefined || spec.chat === null ? null : this.chats.get(spec.chat);
    if (spec.chat !== undefined && spec.chat !== null && chat === undefined) throw new Error(`unknown chat ${spec.chat}`);
    const service = spec.service ?? 'iMessage';
    const fromMe = spec.fromMe ?? false;
    const handleId = spec.handle === undefined || spec.handle === null || (fromMe && chat?.group === true) ? 0 : this.handle(spec.handle, service);
    const other = spec.otherHandle === undefined || spec.otherHandle === null ? 0 : this.handle(spec.otherHandle, service);
    const date = unixMsToApple(spec.dateMs ?? Date.now());
    const run = this.db.transaction(() => {
      const rowid = Number(this.sql(`INSERT INTO message (guid, text, attributedBody, handle_id, service, account, date, date_read,
        date_delivered, is_from_me, is_sent, is_delivered, is_finished, error, item_type, group_action_type, group_title, other_handle,
        associated_message_guid, associated_message_type, associated_message_emoji, thread_originator_guid, message_summary_info,
        date_edited, cache_roomnames, version, part_count)
        VALUES (@guid, @text, @body, @handleId, @service, 'E:owner@example.com', @date, 0, 0, @fromMe, @isSent, @isDelivered, @finished,
        @error, @itemType, @groupActionType, @groupTitle, @other, @assocGuid, @assocType, @emoji, @thread, @summary, @edited, @room, 10, 1)`).run({
        guid, text: spec.text ?? null, body: spec.body ?? null, handleId, service, date,
        fromMe: fromMe ? 1 : 0, isSent: spec.isSent === true ? 1 : 0, isDelivered: spec.isDelivered === true || !fromMe ? 1 : 0,
        finished: fromMe && spec.isSent !== true ? 0 : 1, error: spec.error ?? 0, itemType: spec.itemType ?? 0,
        groupActionType: spec.groupActionType ?? 0, groupTitle: spec.groupTitle ?? null, other, assocGuid: spec.associatedGuid ?? null,
        assocType: spec.associatedType ?? 0, emoji: spec.emoji ?? null, thread: spec.threadOriginator ?? null, summary: spec.summary ?? null,
        edited: spec.dateEditedMs === undefined ? 0 : unixMsToApple(spec.dateEditedMs), room: chat?.room ?? null,
      }).lastInsertRowid);
      if (chat !== undefined && chat !== null) {
        this.sql('INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)').run(chat.rowid, rowid, date);
      }
      return rowid;
    });
    return { rowid: run(), guid };
  }

  /** UPDATE of some columns of a row (is_from_me, is_sent, error, date_edited, …) by ROWID. */
  update(rowid: number, columns: Readonly<Record<string, string | number | bigint | Buffer | null>>): void {
    const names = Object.keys(columns);
    for (const n of names) if (!/^[a-zA-Z_]+$/.test(n)) throw new Error(`bad column ${n}`);
    this.db.prepare(`UPDATE message SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE ROWID = @rowid`).run({ ...columns, rowid });
  }

  /** Adds an attachment and joins it to a message (Messages sometimes does this after the row). */
  attach(messageRowid: number, spec: AttachmentSpec): string {
    const guid = spec.guid ?? `at_0_${randomUUID().toUpperCase()}`;
    const run = this.db.transaction(() => {
      const id = Number(this.db.prepare(`INSERT INTO attachment (guid, original_guid, filename, transfer_name, mime_type, uti, total_bytes, created_date,
        is_outgoing, transfer_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(guid, guid, spec.filename, spec.name ?? spec.filename.split('/').pop(), spec.mimeType ?? null,
        spec.uti ?? null, spec.bytes ?? 0, Math.floor(Date.now() / 1000) - 978_307_200, spec.outgoing === true ? 1 : 0, spec.outgoing === true ? 0 : 5).lastInsertRowid);
      this.db.prepare('INSERT INTO message_attachment_join (message_id, attachment_id) VALUES (?, ?)').run(messageRowid, id);
      this.db.prepare('UPDATE message SET cache_has_attachments = 1 WHERE ROWID = ?').run(messageRowid);
    });
    run();
    return guid;
  }

  /** Sets the transfer state of every attachment of a message (5 = finished). */
  transferState(messageRowid: number, state: number): void {
    this.db.prepare(`UPDATE attachment SET transfer_state = ? WHERE ROWID IN
      (SELECT attachment_id FROM message_attachment_join WHERE message_id = ?)`).run(state, messageRowid);
  }

  delete(rowid: number): void {
    this.db.prepare('DELETE FROM message WHERE ROWID = ?').run(rowid);
  }
}
