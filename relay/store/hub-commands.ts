// Commands on the hub: created by the API (an Idempotency-Key returns the same command), sent to
// their relay in order until acknowledged, and moved along by the results the relay reports.
// A call's later parts are keyed `<key>\u001f<part>`: a namespace no client key reaches.
import { randomUUID } from 'node:crypto';
import type { CommandItem } from '../model/wire.js';
import type { Db } from './database.js';
import type { Tx } from './hub-store.js';

/**
 * The stored key of part `part` of a call made with `key`: the key itself for the first part, the
 * key, U+001F and the part number after it. The API refuses control characters in a client's key
 * (Node's HTTP parser refuses them in a header anyway), so a derived key never equals another call's key.
 */
export function partKey(key: string, part: number): string {
  return part === 0 ? key : `${key}\u001f${part}`;
}

/** Public states of a send command, in the order they normally happen. */
export const COMMAND_STATES = ['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'unknown'] as const;
export type CommandStatus = (typeof COMMAND_STATES)[number];
const RANK: Record<string, number> = { queued: 0, received: 0, sending: 1, sent: 2, delivered: 3, read: 4, failed: 5, unknown: 5 };

export interface CommandRow {
  readonly id: string;
  readonly seq: number;
  readonly account: string;
  readonly body: Record<string, unknown>;
  readonly status: CommandStatus;
  readonly apple_guid: string | null;
  readonly error: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  /** The chat.db row the send made on the Mac (its ROWID, chat guid and id, service), once the relay reported it. */
  readonly row_id: number | null;
  readonly row_chat_guid: string | null;
  readonly row_chat_id: number | null;
  readonly row_service: string | null;
}

type Raw = { id: string; seq: number; account: string; body: string; status: CommandStatus; apple_guid: string | null; error: string | null; created_at: number; updated_at: number;
  row_id: number | null; row_chat_guid: string | null; row_chat_id: number | null; row_service: string | null };
const toRow = (r: Raw): CommandRow => ({
  ...r, body: JSON.parse(r.body) as Record<string, unknown>,
  created_at: new Date(r.created_at).toISOString(), updated_at: new Date(r.updated_at).toISOString(),
});

export class HubCommands {
  private readonly s;

  constructor(db: Db, private readonly tx: Tx, private readonly now: () => number) {
    this.s = {
      byKey: db.prepare('SELECT * FROM commands WHERE account = ? AND idempotency_key = ?'),
      byId: db.prepare('SELECT * FROM commands WHERE id = ?'),
      insert: db.prepare(`INSERT INTO commands (id, account, idempotency_key, body, status, created_at, updated_at)
        VALUES (?, ?, ?, ?, 'queued', ?, ?)`),
      forRelay: db.prepare("SELECT seq, id, body FROM commands WHERE account = ? AND seq > ? AND status IN ('queued', 'chunk') ORDER BY seq LIMIT ?"),
      insertChunk: db.prepare(`INSERT INTO commands (id, account, idempotency_key, body, status, created_at, updated_at)
        VALUES (?, ?, NULL, ?, 'chunk', ?, ?)`),
      setAcked: db.prepare('UPDATE relays SET cmd_acked = MAX(cmd_acked, ?) WHERE account = ?'),
      result: db.prepare('INSERT OR IGNORE INTO command_results (item_id, command_id, status, body, received_at) VALUES (?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE commands SET status = ?, apple_guid = COALESCE(?, apple_guid), error = COALESCE(?, error), updated_at = ? WHERE id = ?'),
      pending: db.prepare("SELECT COUNT(*) FROM commands WHERE status IN ('queued', 'sending')").pluck(),
      fail: db.prepare("UPDATE commands SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status IN ('queued', 'chunk')"),
      setRow: db.prepare(`UPDATE commands SET row_id = ?, row_chat_guid = COALESCE(?, row_chat_guid), row_chat_id = COALESCE(?, row_chat_id),
        row_service = COALESCE(?, row_service) WHERE id = ?`),
      cancel: db.prepare("UPDATE commands SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status = 'queued' AND seq > ?"),
      cancelChunks: db.prepare("UPDATE commands SET status = 'failed', updated_at = ? WHERE account = ? AND status = 'chunk' AND id LIKE ? ESCAPE '\\' AND seq > ?"),
    };
  }

  /**
   * Creates the sends of one API call in order, in one transaction: for a file, one `file_chunk`
   * command per chunk goes ahead of its send (the bytes are added when they go out); a text that came
   * with a file is a second send. With an idempotency key, a repeated call returns the same commands.
   * @throws RangeError for a key holding U+001F (the API never passes one).
   */
  createSends(account: string, parts: ReadonlyArray<{ body: Record<string, unknown>; chunks?: { fileId: string; count: number } }>,
    idempotencyKey: string | null): { commands: CommandRow[]; created: boolean } {
    if (idempotencyKey?.includes('\u001f') === true) throw new RangeError('an idempotency key cannot hold U+001F');
    return this.tx(() => {
      const keyOf = (i: number): string | null => (idempotencyKey === null ? null : partKey(idempotencyKey, i));
      if (idempotencyKey !== null) {
        const found = parts.map((_, i) => this.s.byKey.get(account, keyOf(i)) as Raw | undefined);
        if (found[0] !== undefined) return { commands: found.filter((r): r is Raw => r !== undefined).map(toRow), created: false };
      }
      const now = this.now();
      const ids = parts.map((part, i) => {
        const id = randomUUID();
        if (part.chunks !== undefined) {
          for (let c = 0; c < part.chunks.count; c++) {
            this.s.insertChunk.run(`${id}:chunk:${c}`, account, JSON.stringify({ kind: 'file_chunk', command_id: id, file_id: part.chunks.fileId, index: c }), now, now);
          }
        }
        this.s.insert.run(id, account, keyOf(i), JSON.stringify(part.body), now, now);
        return id;
      });
      return { commands: ids.map((id) => toRow(this.s.byId.get(id) as Raw)), created: true };
    });
  }

  get(id: string): CommandRow | null {
    const r = this.s.byId.get(id) as Raw | undefined;
    return r === undefined ? null : toRow(r);
  }

  /** Queued commands for a relay after `afterSeq`, in order. */
  forRelay(account: string, afterSeq: number, limit: number): CommandItem[] {
    return (this.s.forRelay.all(account, afterSeq, limit) as Array<{ seq: number; id: string; body: string }>)
      .map((r) => ({ seq: r.seq, id: r.id, body: JSON.parse(r.body) as Record<string, unknown> }));
  }

  ack(account: string, seq: number): void {
    this.tx(() => this.s.setAcked.run(seq, account));
  }

  /** Applies a result reported by a relay (inside the ingest transaction). States only move forward. */
  applyResult(itemId: string, body: Record<string, unknown>, now: number): boolean {
    const commandId = String(body['command_id'] ?? '');
    const status = String(body['status'] ?? '');
    if (this.s.result.run(itemId, commandId, status, JSON.stringify(body), now).changes === 0) return false;
    const current = this.s.byId.get(commandId) as Raw | undefined;
    if (current === undefined || !(status in RANK)) return true;
    if ((RANK[status] ?? 0) < (RANK[current.status] ?? 0)) return true;
    const publicStatus = status === 'received' ? 'queued' : status;
    this.s.update.run(publicStatus, (body['apple_guid'] as string | null) ?? null, (body['error'] as string | null) ?? null, now, commandId);
    const rowid = body['rowid'];
    if (typeof rowid === 'number' && Number.isSafeInteger(rowid)) {
      const chatId = body['chat_id'];
      this.s.setRow.run(rowid, typeof body['chat_guid'] === 'string' ? body['chat_guid'] : null,
        typeof chatId === 'number' && Number.isSafeInteger(chatId) ? chatId : null, typeof body['service'] === 'string' ? body['service'] : null, commandId);
    }
    return true;
  }

  /**
   * Cancels commands that certainly never left the hub: still `queued` and above `sentUpTo`, the
   * highest command seq ever sent to their relay (their file chunks too). All or none: returns false,
   * changing nothing, when any of them may have gone out.
   */
  cancelUnsent(ids: readonly string[], sentUpTo: number, error: string): boolean {
    return this.tx(() => {
      const rows = ids.map((id) => this.s.byId.get(id) as Raw | undefined);
      if (rows.some((r) => r === undefined || r.status !== 'queued' || r.seq <= sentUpTo)) return false;
      const now = this.now();
      for (const r of rows) {
        this.s.cancel.run(error, now, r!.id, sentUpTo);
        this.s.cancelChunks.run(now, r!.account, `${r!.id.replace(/[\\%_]/g, (c) => `\\${c}`)}:chunk:%`, sentUpTo);
      }
      return true;
    });
  }

  /** Ends a command the hub will not send (it could not be carried) as `failed` with `error`. */
  fail(id: string, error: string): void {
    this.tx(() => this.s.fail.run(error, this.now(), id));
  }

  /** Commands not finished yet (for health). */
  pendingCount(): number {
    return Number(this.s.pending.get());
  }
}
