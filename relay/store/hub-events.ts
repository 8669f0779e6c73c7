// Events on the hub: ingesting a relay's outbox items exactly once (unique per relay by event id,
// acknowledged only once committed with synchronous=FULL), the chats they reveal, reading them back.
import type { Db } from './database.js';
import type { HubCommands } from './hub-commands.js';
import type { HubDeliveries } from './hub-deliveries.js';
import type { FileState, HubFiles } from './hub-files.js';
import type { Tx } from './hub-store.js';
import type { OutboxItem } from '../model/wire.js';

export interface HubEvent {
  readonly seq: number;
  readonly account: string;
  readonly id: string;
  readonly event: Record<string, unknown>;
}

/** A newly stored event with what its webhook deliveries need, handed on without reading it back. */
export interface StoredEvent extends HubEvent {
  readonly body: string;
  readonly prompt: number;
  readonly lane: string;
}

export interface IngestResult {
  /** Highest outbox seq now durable for this relay (what to ack). */
  readonly acked: number;
  readonly inserted: readonly StoredEvent[];
  readonly duplicates: number;
  readonly results: number;
}

/** What the hub made of a relay's `file` item (hub/file-receiver.ts). */
export interface FileOutcome {
  readonly state: FileState;
  readonly error: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** Event kinds that are one chat.db row each and make up the row feed (GET /v1/rows). */
export const ROW_KINDS: ReadonlySet<string> = new Set(['message', 'from_me', 'reaction']);

/** Path of an attachment's bytes in the assistant API. */
export const attachmentUrl = (guid: string): string => `/v1/attachments/${encodeURIComponent(guid)}`;

/**
 * Attachments of a message get their hub-side location (`url`). Their bytes are expected from the
 * relay; those of a file the relay sent for a command are the upload's, already here.
 */
function withFileUrls(account: string, e: Record<string, unknown>, files: HubFiles, commands: HubCommands, now: number): Record<string, unknown> {
  const list = e['attachments'];
  if (!Array.isArray(list) || list.length === 0) return e;
  const commandId = e['kind'] === 'from_me' ? str(e['command_id']) : null;
  const fileId = commandId === null ? null : str((commands.get(commandId)?.body['file'] as { id?: unknown } | undefined)?.id);
  const upload = fileId === null ? null : files.upload(fileId);
  const attachments = (list as Array<Record<string, unknown>>).map((a) => {
    if (typeof a['guid'] !== 'string') return a;
    if (upload !== null) files.ownIncoming(account, a['guid'], upload, now);
    else files.expectIncoming(account, a['guid'], { name: str(a['name']), mime_type: str(a['mime_type']), bytes: int(a['bytes']) }, now);
    return { ...a, url: attachmentUrl(a['guid']) };
  });
  return { ...e, attachments };
}

export class HubEvents {
  private readonly s;
  /** Chats as last written (name, participants): unchanged chats are not rewritten on every event. */
  private readonly knownChats = new Map<string, string>();

  constructor(db: Db, private readonly tx: Tx, private readonly now: () => number,
    private readonly deliveries: HubDeliveries, private readonly commands: HubCommands, private readonly files: HubFiles) {
    this.s = {
      relay: db.prepare('SELECT acked_seq AS acked, cmd_acked AS cmdAcked FROM relays WHERE account = ?'),
      upsertRelay: db.prepare(`INSERT INTO relays (account, public_key, store_id, last_seen_at) VALUES (@account, @key, @store, @now)
        ON CONFLICT(account) DO UPDATE SET public_key = excluded.public_key, last_seen_at = excluded.last_seen_at,
          acked_seq = CASE WHEN relays.store_id IS excluded.store_id THEN relays.acked_seq ELSE 0 END,
          store_id = excluded.store_id`),
      setAcked: db.prepare('UPDATE relays SET acked_seq = ?, last_seen_at = ? WHERE account = ?'),
      insert: db.prepare(`INSERT OR IGNORE INTO events (account, event_id, kind, guid, chat_guid, prompt, body, received_at, mac_rowid)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      chat: db.prepare(`INSERT INTO chats (account, guid, identifier, name, is_group, participants, service, last_event_at, last_seq, chat_id)
        VALUES (@account, @guid, @identifier, @name, @isGroup, @participants, @service, @at, @seq, @chatId)
        ON CONFLICT(account, guid) DO UPDATE SET identifier = excluded.identifier, name = excluded.name, is_group = excluded.is_group,
          participants = excluded.participants, service = COALESCE(excluded.service, chats.service),
          last_event_at = excluded.last_event_at, last_seq = excluded.last_seq, chat_id = COALESCE(excluded.chat_id, chats.chat_id)`),
      lastMessage: db.prepare(`UPDATE chats SET last_message_at = ?, last_seq = ? WHERE account = ? AND guid = ?
        AND (last_message_at IS NULL OR last_message_at < ?)`),
      after: db.prepare('SELECT seq, account, event_id AS id, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      afterFor: db.prepare('SELECT seq, account, event_id AS id, body FROM events WHERE seq > ? AND account = ? ORDER BY seq LIMIT ?'),
      count: db.prepare('SELECT COUNT(*) FROM events WHERE account = ?').pluck(),
      maxSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck(),
    };
  }

  /**
   * Registers a relay (on connect) and returns what the hub already has from it. A relay whose store
   * was recreated (new store id) starts its outbox seq again from 0; event ids still drop duplicates.
   */
  relay(account: string, publicKey: string, storeId: string): { acked: number; cmdAcked: number } {
    this.tx(() => this.s.upsertRelay.run({ account, key: publicKey, store: storeId, now: this.now() }));
    return this.s.relay.get(account) as { acked: number; cmdAcked: number };
  }

  /**
   * Stores a relay's outbox items in one transaction: events once each (by event id), command results,
   * webhook deliveries for each new event, the relay's acked seq. Items at or below it are skipped.
   * `refusedUpTo`: the highest seq of items refused (not given here), which the acked seq passes too;
   * `json`: item bodies already written as JSON, by seq (not written again).
   */
  ingest(account: string, items: readonly OutboxItem[], hooks: readonly string[], fileStates: ReadonlyMap<string, FileOutcome> = new Map(),
    opts: { readonly refusedUpTo?: number; readonly json?: ReadonlyMap<number, string> } = {}): IngestResult {
    const refusedUpTo = opts.refusedUpTo ?? 0;
    const now = this.now();
    return this.tx(() => {
      const state = this.s.relay.get(account) as { acked: number } | undefined;
      let acked = state?.acked ?? 0;
      const inserted: StoredEvent[] = [];
      let duplicates = 0;
      let results = 0;
      for (const it of items) {
        if (it.seq <= acked) { duplicates++; continue; }
        acked = it.seq;
        if (it.type === 'result') {
          results += this.commands.applyResult(it.id, it.body, now) ? 1 : 0;
          continue;
        }
        if (it.type === 'chunk') continue;
        if (it.type === 'file') {
          const b = it.body;
          const outcome = fileStates.get(String(b['guid'])) ?? { state: 'corrupt', error: 'the file item could not be checked' };
          this.files.setIncoming(account, String(b['guid']), { name: str(b['name']), mime_type: str(b['mime_type']), bytes: int(b['bytes']), sha256: str(b['sha256']) }, outcome.state, outcome.error, now);
          continue;
        }
        const e = withFileUrls(account, it.body, this.files, this.commands, now);
        const chat = (e['chat'] ?? null) as { guid: string; id?: unknown; identifier: string | null; name: string | null; is_group: boolean; participants: string[] } | null;
        const prompt = e['kind'] === 'message' && e['backlog'] !== true ? 1 : 0;
        const body = (e === it.body ? opts.json?.get(it.seq) : undefined) ?? JSON.stringify(e);
        // A message, from-me or tapback row is in the row feed, by its chat.db ROWID.
        const macRowid = ROW_KINDS.has(String(e['kind'])) ? int(e['rowid']) : null;
        const run = this.s.insert.run(account, it.id, String(e['kind']), (e['guid'] as string | undefined) ?? null, chat?.guid ?? null, prompt, body, now, macRowid);
        if (run.changes === 0) { duplicates++; continue; }
        const seq = Number(run.lastInsertRowid);
        const lane = chat?.guid ?? `${account}:none`;
        inserted.push({ seq, account, id: it.id, event: e, body, prompt, lane });
        const chatKey = chat === null ? '' : `${account}\u0000${chat.guid}`;
        const chatId = chat === null ? null : int(chat.id);
        const chatSig = chat === null ? '' : `${chat.name ?? ''}\u0000${chat.participants.join(',')}\u0000${chat.is_group}\u0000${chatId ?? ''}`;
        if (chat !== null && this.knownChats.get(chatKey) !== chatSig) {
          this.knownChats.set(chatKey, chatSig);
          this.s.chat.run({ account, guid: chat.guid, identifier: chat.identifier, name: chat.name, isGroup: chat.is_group ? 1 : 0,
            participants: JSON.stringify(chat.participants), service: (e['service'] as string | null) ?? null, at: (e['date'] as string | null) ?? null, seq, chatId });
        }
        const date = str(e['date']);
        if (chat !== null && date !== null && (e['kind'] === 'message' || e['kind'] === 'from_me')) this.s.lastMessage.run(date, seq, account, chat.guid, date);
        for (const hook of hooks) this.deliveries.add(hook, seq, lane, now);
      }
      if (refusedUpTo > acked) acked = refusedUpTo;
      this.s.setAcked.run(acked, now, account);
      return { acked, inserted, duplicates, results };
    });
  }

  /** Highest outbox seq of this relay the hub holds. */
  acked(account: string): number {
    return (this.s.relay.get(account) as { acked: number } | undefined)?.acked ?? 0;
  }

  after(seq: number, limit: number, account?: string): HubEvent[] {
    const rows = (account === undefined ? this.s.after.all(seq, limit) : this.s.afterFor.all(seq, account, limit)) as
      Array<{ seq: number; account: string; id: string; body: string }>;
    return rows.map((r) => ({ seq: r.seq, account: r.account, id: r.id, event: JSON.parse(r.body) as Record<string, unknown> }));
  }

  maxSeq(): number {
    return Number(this.s.maxSeq.get());
  }

  count(account: string): number {
    return Number(this.s.count.get(account));
  }
}
