// The Mac's store: the outbox (items waiting for the hub's ack; an item too large to carry, or one the
// hub refused, stays as a dead letter with its reason), the inbox (commands from the hub, unique by id,
// with their state) and cursors (the chat.db reader state, the hub's command seq).
import { randomUUID } from 'node:crypto';
import { bytesOver, DEFAULT_MAX_ITEM_BYTES, tooLarge, type CommandItem, type ItemRefusal, type OutboxItem, type OutboxItemType } from '../model/wire.js';
import { openStore, optimizeStore, storeWriteError, type Db, type OptimizeResult } from './database.js';

import { MAC_MIGRATIONS as MIGRATIONS, type DeadLetter, type MacStoreOptions, type UploadRow, type MacStoreStats, type NewOutboxItem, type RawOutboxItem, type InboxRow } from './mac-store-schema.js';

export type { DeadLetter, MacStoreOptions, UploadRow, MacStoreStats, NewOutboxItem, RawOutboxItem, InboxRow };

export class MacStore {
  private readonly db: Db;
  private readonly stmts;
  private readonly maxItemBytes: number;
  /** Dead letters of the transaction in progress, told once it commits. */
  private dead: DeadLetter[] = [];
  private depthOfWrites = 0;

  constructor(private readonly path: string, private readonly now: () => number, private readonly opts: MacStoreOptions = {}) {
    this.maxItemBytes = opts.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
    this.db = openStore(path, MIGRATIONS);
    const db = this.db;
    this.stmts = {
      enqueue: db.prepare('INSERT OR IGNORE INTO outbox (type, item_id, body, created_at) VALUES (?, ?, ?, ?)'),
      setCursor: db.prepare('INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at'),
      getCursor: db.prepare('SELECT value FROM cursors WHERE name = ?').pluck(),
      enqueueDead: db.prepare('INSERT OR IGNORE INTO outbox (type, item_id, body, created_at, dead_at, dead_reason) VALUES (?, ?, ?, ?, ?, ?)'),
      pending: db.prepare('SELECT seq, type, item_id AS id, body FROM outbox WHERE seq > ? AND dead_at IS NULL ORDER BY seq LIMIT ?'),
      ack: db.prepare('UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL AND dead_at IS NULL'),
      refuse: db.prepare('UPDATE outbox SET dead_at = ?, dead_reason = ? WHERE seq = ? AND acked_at IS NULL AND dead_at IS NULL RETURNING type, item_id AS id'),
      depth: db.prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE acked_at IS NULL AND dead_at IS NULL'),
      deadCount: db.prepare('SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL').pluck(),
      lastDead: db.prepare('SELECT seq, type, item_id AS id, dead_reason AS reason, dead_at AS at FROM outbox WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, seq DESC LIMIT 1'),
      ackedSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM outbox WHERE acked_at IS NOT NULL').pluck(),
      insertCommand: db.prepare('INSERT OR IGNORE INTO inbox (seq, command_id, body, state, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
      insertRefused: db.prepare("INSERT OR IGNORE INTO inbox (seq, command_id, body, state, received_at, updated_at, error) VALUES (?, ?, ?, 'failed', ?, ?, ?)"),
      commandsIn: db.prepare(`SELECT seq, command_id AS commandId, body, state, probe_rowid AS probeRowid, sent_rowid AS sentRowid,
        apple_guid AS appleGuid FROM inbox WHERE state = ? ORDER BY seq`),
      setCommandState: db.prepare(`UPDATE inbox SET state = ?, updated_at = ?, apple_guid = COALESCE(?, apple_guid), error = ?,
        sent_rowid = COALESCE(?, sent_rowid) WHERE command_id = ?`),
      markSending: db.prepare("UPDATE inbox SET state = 'sending', probe_rowid = ?, updated_at = ? WHERE command_id = ?"),
      waitingBefore: db.prepare("SELECT COUNT(*) FROM inbox WHERE state IN ('received', 'sending') AND seq < ?").pluck(),
      rememberSent: db.prepare('INSERT OR IGNORE INTO sent_rows (apple_guid, command_id, sent_at) VALUES (?, ?, ?)'),
      sentBy: db.prepare('SELECT command_id FROM sent_rows WHERE apple_guid = ?').pluck(),
      pruneOutbox: db.prepare('DELETE FROM outbox WHERE (acked_at IS NOT NULL AND acked_at < ?) OR (dead_at IS NOT NULL AND dead_at < ?)'),
      addUpload: db.prepare(`INSERT OR IGNORE INTO uploads (guid, path, name, mime_type, expected_bytes, state, deadline, created_at)
        VALUES (@guid, @path, @name, @mimeType, @expectedBytes, 'waiting', @deadline, @now)`),
      waitingUploads: db.prepare(`SELECT guid, path, name, mime_type AS mimeType, expected_bytes AS expectedBytes, last_size AS lastSize, deadline
        FROM uploads WHERE state = 'waiting' ORDER BY created_at, guid LIMIT ?`),
      uploadSize: db.prepare('UPDATE uploads SET last_size = ? WHERE guid = ?'),
      uploadDone: db.prepare("UPDATE uploads SET state = 'queued' WHERE guid = ?"),
      pruneUploads: db.prepare("DELETE FROM uploads WHERE state = 'queued' AND created_at < ?"),
      pruneInbox: db.prepare("DELETE FROM inbox WHERE state IN ('sent', 'delivered', 'read', 'failed', 'unknown') AND updated_at < ?"),
    };
  }

  /** A random id made when this store was created: tells the hub when the Mac's outbox starts over. */
  storeId(): string {
    const existing = this.cursor('store_id');
    if (existing !== null) return existing;
    const id = randomUUID();
    this.write(() => this.stmts.setCursor.run('store_id', id, this.now()));
    return id;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private write<T>(fn: () => T): T {
    if (this.depthOfWrites === 0) this.dead = [];
    this.depthOfWrites++;
    let out: T;
    try {
      out = this.db.transaction(fn)();
    } catch (err) {
      throw storeWriteError(err, this.path);
    } finally {
      this.depthOfWrites--;
    }
    if (this.depthOfWrites === 0) {
      const dead = this.dead;
      this.dead = [];
      for (const d of dead) this.opts.onDeadLetter?.(d);
    }
    return out;
  }

  /**
   * Puts one item in the outbox (an item id already there is kept once). An item whose body is larger
   * than `maxItemBytes` could never be carried: it is kept as a dead letter with its reason and a
   * stub body (what it was and its size), never sent.
   */
  private insert(type: OutboxItemType, id: string, body: Record<string, unknown>, now: number): void {
    const json = JSON.stringify(body);
    const bytes = bytesOver(json, this.maxItemBytes);
    if (bytes === null) {
      this.stmts.enqueue.run(type, id, json, now);
      return;
    }
    const r = tooLarge(`${type} item`, bytes, this.maxItemBytes, 'relay');
    const stub = JSON.stringify({ kind: typeof body['kind'] === 'string' ? body['kind'] : null, guid: typeof body['guid'] === 'string' ? body['guid'] : null, bytes });
    const run = this.stmts.enqueueDead.run(type, id, stub, now, now, `${r.code}: ${r.message}`);
    if (run.changes > 0) this.dead.push({ seq: Number(run.lastInsertRowid), type, id, code: r.code, message: r.message });
  }

  /** Enqueues items, the attachments to upload, and moves a cursor, in one transaction (the chat.db reader's commit). */
  enqueueWithCursor(items: readonly NewOutboxItem[], cursorName: string, cursorValue: string, uploads: ReadonlyArray<Omit<UploadRow, 'lastSize'>> = []): void {
    const now = this.now();
    this.write(() => {
      for (const it of items) this.insert(it.type, it.id, it.body, now);
      for (const u of uploads) this.stmts.addUpload.run({ ...u, now });
      this.stmts.setCursor.run(cursorName, cursorValue, now);
    });
  }

  /** Attachments whose bytes have not been queued for the hub yet, oldest first. */
  waitingUploads(limit = 100): UploadRow[] {
    return this.stmts.waitingUploads.all(limit) as UploadRow[];
  }

  noteUploadSize(guid: string, size: number): void {
    this.write(() => this.stmts.uploadSize.run(size, guid));
  }

  /** Queues an attachment's chunk and file items for the hub and marks it done, in one transaction. */
  queueUpload(guid: string, items: readonly NewOutboxItem[]): void {
    const now = this.now();
    this.write(() => {
      for (const it of items) this.insert(it.type, it.id, it.body, now);
      this.stmts.uploadDone.run(guid);
    });
  }

  enqueue(items: readonly NewOutboxItem[]): void {
    const now = this.now();
    this.write(() => { for (const it of items) this.insert(it.type, it.id, it.body, now); });
  }

  cursor(name: string): string | null {
    return (this.stmts.getCursor.get(name) as string | undefined) ?? null;
  }

  /** Items after `afterSeq` in order, at most `limit`. */
  pending(afterSeq: number, limit: number): OutboxItem[] {
    return (this.stmts.pending.all(afterSeq, limit) as RawOutboxItem[])
      .map((r) => ({ seq: r.seq, type: r.type, id: r.id, body: JSON.parse(r.body) as Record<string, unknown> }));
  }

  /** As `pending`, with each body left as the JSON text it is stored as (no parse, no re-encode). */
  pendingRaw(afterSeq: number, limit: number): RawOutboxItem[] {
    return this.stmts.pending.all(afterSeq, limit) as RawOutboxItem[];
  }

  /** The hub has everything up to `seq` durably, except the items it `refused`: those become dead letters. */
  ack(seq: number, refused: readonly ItemRefusal[] = []): void {
    const now = this.now();
    this.write(() => {
      for (const r of refused) {
        const row = this.stmts.refuse.get(now, `${r.code}: ${r.message}`, r.seq) as { type: OutboxItemType; id: string } | undefined;
        if (row !== undefined) this.dead.push({ seq: r.seq, type: row.type, id: row.id, code: r.code, message: r.message });
      }
      this.stmts.ack.run(now, seq);
    });
  }

  /** Dead letters kept (until pruned with the acknowledged rows) and the newest, for health. */
  deadLetters(): { count: number; last: { seq: number; type: OutboxItemType; id: string; reason: string; at: number } | null } {
    const count = Number(this.stmts.deadCount.get());
    const last = count === 0 ? null : (this.stmts.lastDead.get() as { seq: number; type: OutboxItemType; id: string; reason: string; at: number });
    return { count, last };
  }

  ackedSeq(): number {
    return Number(this.stmts.ackedSeq.get());
  }

  /** Unacked items and the age of the oldest (ms), for health. */
  depth(): { count: number; oldestAgeMs: number | null } {
    const r = this.stmts.depth.get() as { n: number; oldest: number | null };
    return { count: r.n, oldestAgeMs: r.oldest === null ? null : Math.max(0, this.now() - r.oldest) };
  }

  /** The hub's command seq this relay has stored up to. */
  commandSeq(): number {
    return Number(this.cursor('hub_cmd_seq') ?? 0);
  }

  /**
   * Stores commands (a command id seen twice is kept once) and the hub's command seq. When the first
   * new command is next in line and `begin` gives a probe ROWID for it (the sender is idle and will run
   * it at once), it is marked `sending` in the same transaction: one disk flush instead of two.
   * A command in `refused` (by seq) is kept only as a `failed` entry with the reason, reported to the
   * hub as its result; a refused file chunk is dropped (its send then fails its check).
   */
  receiveCommands(items: readonly CommandItem[], begin?: (commandId: string, body: Record<string, unknown>) => number | null,
    refused: ReadonlyMap<number, Omit<ItemRefusal, 'seq'>> = new Map()): { stored: number; lastSeq: number; begun: string | null } {
    const now = this.now();
    let stored = 0;
    let begun: string | null = null;
    let lastSeq = Number(this.cursor('hub_cmd_seq') ?? 0);
    this.write(() => {
      let first: CommandItem | null = null;
      for (const c of items) {
        if (c.seq <= lastSeq) continue;
        const refusal = refused.get(c.seq);
        if (refusal !== undefined) {
          const error = `${refusal.code}: ${refusal.message}`;
          if (c.body['kind'] !== 'file_chunk' && this.stmts.insertRefused.run(c.seq, c.id, JSON.stringify({ kind: 'refused' }), now, now, error).changes > 0) {
            this.result(c.id, 'failed', null, error, now);
          }
          lastSeq = c.seq;
          continue;
        }
        // A file chunk is on disk already (staged by the caller); only the send it belongs to is a command.
        if (c.body['kind'] !== 'file_chunk') {
          const added = this.stmts.insertCommand.run(c.seq, c.id, JSON.stringify(c.body), 'received', now, now).changes;
          if (added > 0 && stored === 0) first = c;
          stored += added;
        }
        lastSeq = c.seq;
      }
      this.stmts.setCursor.run('hub_cmd_seq', String(lastSeq), now);
      if (first !== null && begin !== undefined && Number(this.stmts.waitingBefore.get(first.seq)) === 0) {
        const probe = begin(first.id, first.body);
        if (probe !== null) {
          this.stmts.markSending.run(probe, now, first.id);
          this.result(first.id, 'sending', null, null, now);
          begun = first.id;
        }
      }
    });
    return { stored, lastSeq, begun };
  }

  commandsInState(state: string): InboxRow[] {
    return (this.stmts.commandsIn.all(state) as Array<Omit<InboxRow, 'body'> & { body: string }>)
      .map((r) => ({ ...r, body: JSON.parse(r.body) as Record<string, unknown> }));
  }

  /** A command's result item; `row`: the chat.db row the send made (its ROWID, chat and service), once found. */
  private result(commandId: string, state: string, appleGuid: string | null, error: string | null, now: number,
    row?: { rowid: number; chatGuid: string | null; chatId: number | null; service: string | null }): void {
    const where = row === undefined ? {} : { rowid: row.rowid, chat_guid: row.chatGuid, chat_id: row.chatId, service: row.service };
    this.insert('result', `${commandId}:${state}${appleGuid === null ? '' : `:${appleGuid}`}`, { command_id: commandId, status: state, apple_guid: appleGuid, error, at: new Date(now).toISOString(), ...where }, now);
  }

  /** State `sending`, written (with the ROWID noted before osascript) before osascript runs. */
  markSending(commandId: string, probeRowid: number): void {
    const now = this.now();
    this.write(() => {
      this.stmts.markSending.run(probeRowid, now, commandId);
      this.result(commandId, 'sending', null, null, now);
    });
  }

  /** Sets a command's state (and the row it produced) and enqueues its result for the hub, in one transaction. */
  setCommandState(commandId: string, state: string, detail: { appleGuid?: string | null; error?: string | null; sentRowid?: number | null;
    row?: { chatGuid: string | null; chatId: number | null; service: string | null } } = {}): void {
    const now = this.now();
    this.write(() => {
      this.stmts.setCommandState.run(state, now, detail.appleGuid ?? null, detail.error ?? null, detail.sentRowid ?? null, commandId);
      if (detail.appleGuid !== undefined && detail.appleGuid !== null) this.stmts.rememberSent.run(detail.appleGuid, commandId, now);
      const row = detail.sentRowid === undefined || detail.sentRowid === null ? undefined : { rowid: detail.sentRowid, chatGuid: null, chatId: null, service: null, ...detail.row };
      this.result(commandId, state, detail.appleGuid ?? null, detail.error ?? null, now, row);
    });
  }

  /** The command whose send produced this chat.db row, if the relay sent it. */
  sentBy(appleGuid: string): string | null {
    return (this.stmts.sentBy.get(appleGuid) as string | undefined) ?? null;
  }

  /** Deletes acknowledged items and finished commands older than `olderThanMs`. Returns rows deleted. */
  prune(olderThanMs: number): number {
    const cutoff = this.now() - olderThanMs;
    return this.write(() => this.stmts.pruneOutbox.run(cutoff, cutoff).changes + this.stmts.pruneInbox.run(cutoff).changes + this.stmts.pruneUploads.run(cutoff).changes);
  }

  /** PRAGMA optimize, incremental vacuum and a WAL checkpoint (scheduled upkeep). */
  optimize(): OptimizeResult {
    return optimizeStore(this.db, this.path);
  }

  /** Counts for the hourly stats line (no content): outbox rows, unacknowledged, events added since `since`; commands by state. */
  stats(since: number): MacStoreStats {
    const o = this.db.prepare(`SELECT COUNT(*) AS rows, COUNT(*) - COUNT(acked_at) AS unacked,
      COALESCE(SUM(type = 'event' AND created_at >= ?), 0) AS events FROM outbox`).get(since) as { rows: number; unacked: number; events: number };
    const inbox = Object.fromEntries((this.db.prepare('SELECT state, COUNT(*) AS n FROM inbox GROUP BY state').all() as Array<{ state: string; n: number }>).map((r) => [r.state, r.n]));
    const uploads = Number(this.db.prepare("SELECT COUNT(*) FROM uploads WHERE state = 'waiting'").pluck().get());
    return { outboxRows: o.rows, unacked: o.unacked, eventsSince: o.events, inbox, uploadsWaiting: uploads };
  }

  /** When the newest incoming message still in the outbox was read (ms), or null: liveness survives a restart. */
  lastInboundAt(): number | null {
    const at = this.db.prepare(`SELECT created_at FROM outbox WHERE type = 'event' AND json_valid(body)
      AND json_extract(body, '$.kind') = 'message' ORDER BY seq DESC LIMIT 1`).pluck().get() as number | undefined;
    return at ?? null;
  }
}
