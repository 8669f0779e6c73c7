// The chats the hub knows, per account (guid ↔ chat id, identifier, name, participants, service,
// last activity): filled from events as they are stored and from the Mac's answers to `chats`
// queries, so the API can answer with stable chat ids while the Mac is offline.
import type { ChatInfo } from '../model/chat-info.js';
import type { Db } from './database.js';
import type { Tx } from './hub-store.js';

/** A chat as the API shows it. */
export interface KnownChat {
  /** The chat's chat.db ROWID on the Mac (null when no event or answer has told it yet). */
  readonly id: number | null;
  readonly account: string;
  readonly guid: string;
  readonly identifier: string | null;
  readonly name: string | null;
  readonly is_group: boolean;
  readonly participants: readonly string[];
  readonly service: string | null;
  /** ISO date of its newest message known. */
  readonly last_message_at: string | null;
  /** ISO date of the event that last changed it (older API field). */
  readonly last_event_at: string | null;
}

/** A chat as the Mac describes it. */
export type ChatFromMac = ChatInfo;

const toChat = (r: Record<string, unknown>): KnownChat => ({
  id: typeof r['chat_id'] === 'number' ? r['chat_id'] : null, account: r['account'] as string, guid: r['guid'] as string,
  identifier: r['identifier'] as string | null, name: r['name'] as string | null, is_group: r['is_group'] === 1,
  participants: JSON.parse(r['participants'] as string) as string[], service: r['service'] as string | null,
  last_message_at: (r['last_message_at'] as string | null) ?? null, last_event_at: r['last_event_at'] as string | null,
});

const ORDER = 'ORDER BY COALESCE(last_message_at, last_event_at) IS NULL, COALESCE(last_message_at, last_event_at) DESC, last_seq DESC';

/** The hub's chat table: lookups by id, guid or identifier, and merging what the Mac says. */
export class HubChats {
  private readonly s;

  constructor(db: Db, private readonly tx: Tx) {
    this.s = {
      list: db.prepare(`SELECT * FROM chats ${ORDER} LIMIT ?`),
      listFor: db.prepare(`SELECT * FROM chats WHERE account = ? ${ORDER} LIMIT ?`),
      byId: db.prepare(`SELECT * FROM chats WHERE account = ? AND chat_id = ? ${ORDER} LIMIT 1`),
      byGuid: db.prepare('SELECT * FROM chats WHERE account = ? AND guid = ?'),
      byIdentifier: db.prepare(`SELECT * FROM chats WHERE account = ? AND identifier = ? ${ORDER} LIMIT 1`),
      merge: db.prepare(`INSERT INTO chats (account, guid, identifier, name, is_group, participants, service, last_event_at, last_seq, chat_id, last_message_at)
        VALUES (@account, @guid, @identifier, @name, @isGroup, @participants, @service, NULL, 0, @id, @last)
        ON CONFLICT(account, guid) DO UPDATE SET identifier = excluded.identifier, name = excluded.name, is_group = excluded.is_group,
          participants = excluded.participants, service = COALESCE(excluded.service, chats.service), chat_id = excluded.chat_id,
          last_message_at = CASE WHEN chats.last_message_at IS NULL OR excluded.last_message_at > chats.last_message_at
            THEN excluded.last_message_at ELSE chats.last_message_at END`),
      forget: db.prepare('UPDATE chats SET chat_id = NULL WHERE account = ? AND chat_id = ? AND guid != ?'),
    };
  }

  /** Chats newest activity first (of one account, or of all). */
  list(limit: number, account?: string): KnownChat[] {
    const rows = (account === undefined ? this.s.list.all(limit) : this.s.listFor.all(account, limit)) as Array<Record<string, unknown>>;
    return rows.map(toChat);
  }

  byId(account: string, id: number): KnownChat | null {
    const r = this.s.byId.get(account, id) as Record<string, unknown> | undefined;
    return r === undefined ? null : toChat(r);
  }

  /** The chat with this guid, else the most recent one with this chat_identifier. */
  byKey(account: string, key: string): KnownChat | null {
    const r = (this.s.byGuid.get(account, key) ?? this.s.byIdentifier.get(account, key)) as Record<string, unknown> | undefined;
    return r === undefined ? null : toChat(r);
  }

  /** Stores what the Mac said about these chats (its ids win: another chat holding the same id loses it). */
  merge(account: string, chats: readonly ChatFromMac[]): void {
    this.tx(() => {
      for (const c of chats) {
        this.s.forget.run(account, c.id, c.guid);
        this.s.merge.run({ account, guid: c.guid, identifier: c.identifier, name: c.name, isGroup: c.is_group ? 1 : 0,
          participants: JSON.stringify(c.participants), service: c.service, id: c.id, last: c.last_message_at });
      }
    });
  }
}
