// Read-only answers about what chat.db already holds (the hub's link queries, PROTOCOL.md §4.3): chats
// newest first and one chat's messages newest first with their tapbacks added up. Same statements and
// row mapper as the reader; pages of at most 500 rows, and a time budget that ends a long search early.
import { existsSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { AssistantCode, RelayError } from '../errors.js';
import { appleToIso, unixMsToApple } from '../model/apple-time.js';
import type { RelayEvent } from '../model/events.js';
import { boundList, boundName } from '../model/event-limits.js';
import { netReactions, type NetReaction, type ReactionRow } from '../model/reactions.js';
import { openChatDb, type ChatDbConnection } from './connection.js';
import type { ChatInfo } from '../model/chat-info.js';
import type { RawAttachmentRow, RawChatRow, RawMessageRow } from './queries.js';
import { mapRow, num } from './row-mapper.js';

/** Rows read per statement: the page size of every history query. */
export const HISTORY_PAGE = 500;
/** Tapback rows read for one page of messages at most. */
const REACTION_ROWS = 5000;


/** What a history query asks for (dates are Unix ms; `start` inclusive, `end` exclusive). */
export interface HistoryRequest {
  readonly chatId: number;
  readonly limit: number;
  readonly start: number | null;
  readonly end: number | null;
  /** Only rows whose handle is one of these (case-insensitive); null: all. */
  readonly participants: readonly string[] | null;
  /** False: attachments are not read (every `attachments` list is empty). */
  readonly attachments: boolean;
}

/** A message event of the chat, with the tapbacks standing on it. */
export type HistoryMessage = RelayEvent & { readonly reactions: readonly NetReaction[] };

export interface HistoryResult {
  readonly messages: readonly HistoryMessage[];
  /** True when the time budget ran out before `limit` messages were found (the list is what was found). */
  readonly partial: boolean;
}

export interface ChatHistoryDeps {
  readonly path: string;
  readonly homeDir: string;
  readonly clock: Clock;
  /** How long one query may read before it answers with what it has (default 2 s). */
  readonly budgetMs?: number;
  readonly open?: (path: string) => ChatDbConnection;
  readonly fileExists?: (path: string) => boolean;
}

/** Unix ms → the Apple nanoseconds chat.db's `date` holds. */
const toApple = (ms: number | null): bigint | null => (ms === null ? null : unixMsToApple(ms));

/** Read-only history of chat.db on its own connection (reopened when chat.db is replaced). */
export class ChatHistory {
  private conn: ChatDbConnection | null = null;

  constructor(private readonly deps: ChatHistoryDeps) {}

  private c(): ChatDbConnection {
    if (this.conn !== null && this.conn.replaced()) this.close();
    this.conn ??= (this.deps.open ?? openChatDb)(this.deps.path);
    return this.conn;
  }

  close(): void {
    this.conn?.close();
    this.conn = null;
  }

  private participantsOf(ids: readonly bigint[]): Map<bigint, string[]> {
    const out = new Map<bigint, string[]>();
    if (ids.length === 0) return out;
    for (const p of this.c().queries.participants.all(JSON.stringify([...new Set(ids)].map(Number)))) {
      const list = out.get(p.chat_id) ?? [];
      list.push(p.handle);
      out.set(p.chat_id, list);
    }
    return out;
  }

  private chatInfo(rows: readonly RawChatRow[]): ChatInfo[] {
    const parts = this.participantsOf(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: Number(r.id), guid: r.guid, identifier: r.identifier, name: r.name === null || r.name === '' ? null : boundName(r.name),
      service: r.service, is_group: num(r.style) === 43 || r.guid.includes(';+;'), participants: boundList(parts.get(r.id) ?? []),
      last_message_at: appleToIso(r.last_date),
    }));
  }

  /** Chats, most recent activity first (`limit` 1…1000). */
  chats(limit: number): ChatInfo[] {
    return this.chatInfo(this.c().queries.chats.all(Math.max(1, Math.min(limit, 1000))));
  }

  /** One chat by its id (ROWID), or by guid or chat_identifier; null when chat.db has no such chat. */
  chat(by: { id: number } | { key: string }): ChatInfo | null {
    const q = this.c().queries;
    const row = 'id' in by ? q.chatById.get(by.id) : q.chatByKey.get(by.key, by.key);
    return row === undefined ? null : this.chatInfo([row])[0]!;
  }

  /**
   * A chat's messages (no tapback rows), newest first, each with its standing tapbacks.
   * @throws RelayError UNKNOWN_CHAT when chat.db has no chat with that id.
   */
  history(req: HistoryRequest): HistoryResult {
    const q = this.c().queries;
    const chat = q.chatById.get(req.chatId);
    if (chat === undefined) throw new RelayError(AssistantCode.UnknownChat, `chat.db has no chat ${req.chatId}`, { chat_id: req.chatId });
    const until = this.deps.clock.now() + (this.deps.budgetMs ?? 2000);
    const want = req.participants === null ? null : new Set(req.participants.map((p) => p.toLowerCase()));
    const limit = Math.max(1, Math.min(req.limit, HISTORY_PAGE));
    const rows: RawMessageRow[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    let partial = false;
    for (;;) {
      const page = q.historyPage.all({ chat: req.chatId, before, start: toApple(req.start), end: toApple(req.end), limit: HISTORY_PAGE });
      for (const row of page) {
        if (want === null || (row.handle !== null && want.has(row.handle.toLowerCase()))) rows.push(row);
        if (rows.length >= limit) break;
      }
      if (rows.length >= limit || page.length < HISTORY_PAGE) break;
      before = Number(page[page.length - 1]!.rowid);
      if (this.deps.clock.now() >= until) { partial = true; break; }
    }
    return { messages: this.mapped(rows, chat.id, req.attachments), partial };
  }

  private mapped(rows: readonly RawMessageRow[], chatId: bigint, withAttachments: boolean): HistoryMessage[] {
    if (rows.length === 0) return [];
    const q = this.c().queries;
    const attachments = new Map<bigint, RawAttachmentRow[]>();
    if (withAttachments) {
      for (const a of q.attachments.all(JSON.stringify(rows.map((r) => Number(r.rowid))))) {
        const list = attachments.get(a.message_id) ?? [];
        list.push(a);
        attachments.set(a.message_id, list);
      }
    }
    const parts = this.participantsOf(rows.flatMap((r) => (r.chat_rowid === null ? [] : [r.chat_rowid])));
    const oldest = Math.min(...rows.map((r) => Number(r.rowid)));
    const reactionRows: ReactionRow[] = [];
    for (const row of q.reactionRows.all(Number(chatId), oldest, REACTION_ROWS)) {
      const e = mapRow(row, { attachments: [], participants: [], backlog: false, homeDir: this.deps.homeDir, fileExists: () => false });
      if (e?.kind !== 'reaction') continue;
      reactionRows.push({ rowid: e.rowid, guid: e.guid, reaction: e.reaction, emoji: e.emoji, removed: e.removed, target_guid: e.target_guid,
        sender: e.sender, from_me: num(row.is_from_me) === 1, date: e.date });
    }
    const reactions = netReactions(reactionRows);
    const fileExists = this.deps.fileExists ?? existsSync;
    const out: HistoryMessage[] = [];
    for (const row of rows) {
      const e = mapRow(row, {
        attachments: attachments.get(row.rowid) ?? [], participants: row.chat_rowid === null ? [] : parts.get(row.chat_rowid) ?? [],
        backlog: false, homeDir: this.deps.homeDir, fileExists,
      });
      if (e === null || (e.kind !== 'message' && e.kind !== 'from_me')) continue;
      out.push({ ...e, reactions: reactions.get(e.guid) ?? [] });
    }
    return out;
  }
}
