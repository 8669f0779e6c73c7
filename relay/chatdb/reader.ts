// Reads new rows from chat.db: a ROWID cursor paged 500 rows at a time, the settle window, the age
// fence, and the change cursor for edits, unsends and delivery state. One poll = a few short
// statements; nothing is held open between polls. Events and the new cursor are handed to `commit`
// together, so the caller can store both in one transaction.
import { existsSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { RelayError, asRelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { appleToUnixMs } from '../model/apple-time.js';
import type { RelayEvent } from '../model/events.js';
import { deliveryEvents, editEvents, editMark, markOf, sameMark, startWatch, type HistoryOf } from './change-tracker.js';
import { openChatDb, type ChatDbConnection } from './connection.js';
import type { EditHistory } from './edit-history.js';
import { EditHistoryCache } from './edit-history-cache.js';
import { chatDbError } from './errors.js';
import type { RawAttachmentRow, RawMessageRow } from './queries.js';
import { initialState, type EditMark, type ReaderState, type WatchMark } from './reader-state.js';
import { mapRow } from './row-mapper.js';
import { SettleQueue } from './settle.js';

export interface ReaderOptions {
  /** A row is emitted once unchanged for this long (default 500 ms). */
  readonly settleMs: number;
  /** A row still changing after this long is emitted anyway (default 10 × settle, at least 5 s). */
  readonly maxHoldMs: number;
  /** Rows dated older than this when first seen are marked `backlog` (default 15 min). */
  readonly ageFenceMs: number;
  /** How long after it was read a row is still checked for edits and unsends (default 30 min). */
  readonly editWindowMs: number;
  /** How long a from-me row's delivery is followed (default 7 days). */
  readonly watchMaxAgeMs: number;
  readonly pageSize: number;
  /** At most this many rows wait in the settle window at once; the rest are read on the next poll. */
  readonly maxPending: number;
}

export const DEFAULT_READER_OPTIONS: ReaderOptions = {
  settleMs: 500, maxHoldMs: 5000, ageFenceMs: 15 * 60_000, editWindowMs: 30 * 60_000,
  watchMaxAgeMs: 7 * 24 * 3600_000, pageSize: 500, maxPending: 5000,
};

export interface ReaderDeps {
  readonly path: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly homeDir: string;
  readonly options?: Partial<ReaderOptions>;
  /** Saved state; null starts at `startAfter`. */
  readonly state: ReaderState | null;
  /** Where a reader without saved state starts: after this ROWID, or at the current end. */
  readonly startAfter?: number | 'end';
  /** Stores the events and the state they lead to, atomically. Throwing refuses both. */
  readonly commit: (events: readonly RelayEvent[], state: ReaderState) => void;
  readonly open?: (path: string) => ChatDbConnection;
  readonly fileExists?: (path: string) => boolean;
  /** Parses message_summary_info (default parseEditHistory); results are cached per row while its blob is unchanged. */
  readonly parseEditHistory?: (blob: Buffer | null) => EditHistory;
}

export type PollOutcome =
  | { readonly ok: true; readonly emitted: number; readonly nextDeadline: number | null; readonly more: boolean }
  | { readonly ok: false; readonly error: RelayError };

export interface ReaderStatus {
  readonly state: 'ok' | 'down' | 'starting';
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly since: number;
  readonly cursor: number | null;
  readonly pending: number;
}

interface Pending {
  readonly row: RawMessageRow;
  readonly event: RelayEvent | null;
}

/** Polls chat.db for new and changed rows. Not re-entrant: the watcher calls poll() one at a time. */
export class ChatDbReader {
  private readonly opts: ReaderOptions;
  private conn: ChatDbConnection | null = null;
  private state: ReaderState | null;
  private lastDataVersion: bigint | null = null;
  private readMore = false;
  private readonly pending: SettleQueue<Pending>;
  private current: ReaderStatus;
  private readonly editHistories: EditHistoryCache;
  private readonly historyOf: HistoryOf;

  constructor(private readonly deps: ReaderDeps) {
    this.opts = { ...DEFAULT_READER_OPTIONS, ...deps.options };
    this.state = deps.state;
    this.pending = new SettleQueue({ settleMs: this.opts.settleMs, maxHoldMs: this.opts.maxHoldMs });
    this.current = { state: 'starting', error: null, since: deps.clock.now(), cursor: deps.state?.rowid ?? null, pending: 0 };
    this.editHistories = new EditHistoryCache(deps.parseEditHistory);
    this.historyOf = (row) => this.editHistories.get(row);
  }

  status(): ReaderStatus {
    return this.current;
  }

  /** The state last committed (null before the first successful poll without saved state). */
  cursor(): ReaderState | null {
    return this.state;
  }

  /** One poll: cheap when nothing changed (two stats and PRAGMA data_version). Never throws. */
  poll(): PollOutcome {
    const now = this.deps.clock.now();
    let stage = 'read';
    try {
      const conn = this.connection();
      const q = conn.queries;
      const dv = q.dataVersion.get()!;
      const changed = dv !== this.lastDataVersion;
      if (!changed && this.pending.size === 0 && !this.readMore) {
        this.markOk(now);
        return { ok: true, emitted: 0, nextDeadline: null, more: false };
      }
      let state = this.state!;
      const events: RelayEvent[] = [];
      // Unchanged data_version means no commit since the last read: pending rows read the same again,
      // so their second read is free. More rows wait beyond the cap only once the queue has room.
      if (changed || (this.readMore && this.pending.size === 0)) {
        this.lastDataVersion = dv;
        const max = Number(q.maxRowid.get() ?? 0n);
        if (max < state.rowid) state = this.rebase(conn, state, 'ROWIDs went backwards');
        state = this.trackChanges(conn, state, now, events);
        this.readMore = this.readNew(conn, state, now);
      }
      for (const entry of this.pending.take(now)) {
        if (entry.value.event !== null) events.push(entry.value.event);
        state = this.advance(state, entry.value, now);
      }
      state = this.moveEditFloor(state, now);
      if (events.length > 0 || JSON.stringify(state) !== JSON.stringify(this.state)) {
        stage = 'commit';
        this.deps.commit(events, state);
        this.state = state;
      }
      this.markOk(now);
      return { ok: true, emitted: events.length, nextDeadline: this.pending.nextDeadline(), more: this.readMore && this.pending.size === 0 };
    } catch (err) {
      const error = stage === 'commit' ? asRelayError(err, 'READER_COMMIT_FAILED') : chatDbError(err, this.deps.path);
      this.reset();
      if (this.current.state !== 'down' || this.current.error?.code !== error.code) {
        this.deps.logger.error({ err: error.toJSON(), stage }, 'chat.db reader: %s', error.message);
      }
      this.current = { state: 'down', error: { code: error.code, message: error.message }, since: this.current.state === 'down' ? this.current.since : now, cursor: this.state?.rowid ?? null, pending: 0 };
      return { ok: false, error };
    }
  }

  close(): void {
    this.reset();
  }

  private reset(): void {
    this.conn?.close();
    this.conn = null;
    this.lastDataVersion = null;
    this.pending.clear();
  }

  private markOk(now: number): void {
    if (this.current.state !== 'ok') {
      if (this.current.state === 'down') this.deps.logger.info({ cursor: this.state?.rowid }, 'chat.db reader recovered');
      this.current = { state: 'ok', error: null, since: now, cursor: this.state?.rowid ?? null, pending: this.pending.size };
    } else {
      this.current = { ...this.current, cursor: this.state?.rowid ?? null, pending: this.pending.size };
    }
  }

  private connection(): ChatDbConnection {
    if (this.conn !== null && this.conn.replaced()) {
      this.deps.logger.warn('chat.db or its WAL was replaced: reopening');
      this.reset();
    }
    if (this.conn !== null) return this.conn;
    const conn = (this.deps.open ?? openChatDb)(this.deps.path);
    try {
      if (this.state === null) {
        const start = this.deps.startAfter ?? 'end';
        const rowid = start === 'end' ? Number(conn.queries.maxRowid.get() ?? 0n) : start;
        const state = initialState(rowid);
        this.deps.commit([], state);
        this.state = state;
        this.deps.logger.info({ cursor: rowid }, 'chat.db reader starting after ROWID %d', rowid);
      } else if (this.state.lastGuid !== null) {
        const at = conn.queries.rowidByGuid.get(this.state.lastGuid);
        if (at === undefined || Number(at) !== this.state.rowid) {
          const state = this.rebase(conn, this.state, 'the last row read is no longer where it was');
          this.deps.commit([], state);
          this.state = state;
        }
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    this.conn = conn;
    return conn;
  }

  /** chat.db was replaced or restored: find the last row we handled by guid, else by date. */
  private rebase(conn: ChatDbConnection, state: ReaderState, why: string): ReaderState {
    const q = conn.queries;
    let rowid: number | null = null;
    if (state.lastGuid !== null) {
      const r = q.rowidByGuid.get(state.lastGuid);
      if (r !== undefined) rowid = Number(r);
    }
    if (rowid === null && state.lastDate !== null) rowid = Number(q.lastRowidAtOrBefore.get(BigInt(state.lastDate)) ?? 0n);
    rowid ??= 0;
    this.deps.logger.warn({ from: state.rowid, to: rowid }, 'chat.db cursor re-based: %s', why);
    this.pending.clear();
    this.editHistories.clear();
    return { ...initialState(rowid), lastGuid: state.lastGuid, lastDate: state.lastDate };
  }

  private participants(conn: ChatDbConnection, rows: readonly RawMessageRow[]): Map<bigint, string[]> {
    const ids = [...new Set(rows.map((r) => r.chat_rowid).filter((x): x is bigint => x !== null))];
    const out = new Map<bigint, string[]>();
    if (ids.length === 0) return out;
    for (const p of conn.queries.participants.all(JSON.stringify(ids.map(Number)))) {
      const list = out.get(p.chat_id) ?? [];
      list.push(p.handle);
      out.set(p.chat_id, list);
    }
    return out;
  }

  /** Reads rows above the cursor into the settle queue. Returns true when more rows wait beyond the cap. */
  private readNew(conn: ChatDbConnection, state: ReaderState, now: number): boolean {
    const q = conn.queries;
    const rows: RawMessageRow[] = [];
    let after = state.rowid;
    for (;;) {
      const page = q.page.all(after, this.opts.pageSize);
      rows.push(...page);
      if (page.length < this.opts.pageSize || rows.length >= this.opts.maxPending) break;
      after = Number(page[page.length - 1]!.rowid);
    }
    const attachments = new Map<bigint, RawAttachmentRow[]>();
    if (rows.length > 0) {
      for (const a of q.attachments.all(JSON.stringify(rows.map((r) => Number(r.rowid))))) {
        const list = attachments.get(a.message_id) ?? [];
        list.push(a);
        attachments.set(a.message_id, list);
      }
    }
    const participants = this.participants(conn, rows);
    const fileExists = this.deps.fileExists ?? existsSync;
    const observed = rows.map((row) => {
      const rowid = Number(row.rowid);
      const seen = this.pending.firstSeen(rowid) ?? now;
      const date = appleToUnixMs(row.date);
      const event = mapRow(row, {
        attachments: attachments.get(row.rowid) ?? [],
        participants: row.chat_rowid === null ? [] : participants.get(row.chat_rowid) ?? [],
        backlog: date !== null && date < seen - this.opts.ageFenceMs,
        homeDir: this.deps.homeDir,
        fileExists,
      });
      const fingerprint = event === null
        ? `skip:${row.item_type}:${row.associated_message_type}:${row.is_from_me}`
        : JSON.stringify(event);
      return { rowid, fingerprint, value: { row, event } };
    });
    this.pending.observe(observed, now);
    return rows.length >= this.opts.maxPending;
  }

  private trackChanges(conn: ChatDbConnection, state: ReaderState, now: number, out: RelayEvent[]): ReaderState {
    const q = conn.queries;
    let edits: Record<string, EditMark> | null = null;
    if (state.rowid > state.editFloor) {
      // The edit state of the window's rows is read on every changed poll (cheap, histories cached);
      // whole rows, and their chats' participants, only for rows whose mark moved.
      const moved = q.edited.all(state.editFloor, state.rowid).filter((row) => {
        const known = this.editHistories.known(row);
        return known === undefined || !sameMark(markOf(row.date_edited, row.date_retracted, () => known), state.edits[String(row.rowid)]);
      });
      const rows = moved.length === 0 ? [] : q.byRowids.all(JSON.stringify(moved.map((r) => Number(r.rowid))));
      const parts = this.participants(conn, rows);
      for (const row of rows) {
        const key = String(row.rowid);
        const r = editEvents(row, state.edits[key], row.chat_rowid === null ? [] : parts.get(row.chat_rowid) ?? [], this.historyOf);
        if (r.events.length > 0 || (r.mark !== null && state.edits[key] === undefined)) {
          edits ??= { ...state.edits };
          if (r.mark !== null) edits[key] = r.mark;
          out.push(...r.events);
        }
      }
    }
    let watch: Record<string, WatchMark> | null = null;
    const ids = Object.keys(state.watch);
    if (ids.length > 0) {
      watch = { ...state.watch };
      const rows = q.byRowids.all(JSON.stringify(ids.map(Number)));
      const parts = this.participants(conn, rows);
      const found = new Set<string>();
      for (const row of rows) {
        const key = String(row.rowid);
        found.add(key);
        const r = deliveryEvents(row, state.watch[key]!, row.chat_rowid === null ? [] : parts.get(row.chat_rowid) ?? []);
        out.push(...r.events);
        if (r.mark === null) delete watch[key];
        else watch[key] = r.mark;
      }
      for (const key of ids) {
        if (!found.has(key) || now - state.watch[key]!.t > this.opts.watchMaxAgeMs) delete watch[key];
      }
    }
    if (edits === null && watch === null) return state;
    return { ...state, edits: edits ?? state.edits, watch: watch ?? state.watch };
  }

  private advance(state: ReaderState, p: Pending, now: number): ReaderState {
    const key = String(p.row.rowid);
    const mark = editMark(p.row, this.historyOf);
    const watchMark = p.event?.kind === 'from_me' ? startWatch(p.row, now) : null;
    return {
      ...state,
      rowid: Number(p.row.rowid),
      lastGuid: p.row.guid,
      lastDate: p.row.date === null ? state.lastDate : p.row.date.toString(),
      edits: mark === null ? state.edits : { ...state.edits, [key]: mark },
      watch: watchMark === null ? state.watch : { ...state.watch, [key]: watchMark },
    };
  }

  /** Samples the cursor once a minute; rows older than the edit window leave the change cursor. */
  private moveEditFloor(state: ReaderState, now: number): ReaderState {
    const last = state.floors[state.floors.length - 1];
    let floors = state.floors;
    if (last === undefined || now - last[0] >= 60_000) floors = [...floors, [now, state.rowid] as const];
    let floor = state.editFloor;
    const keep = floors.filter((f) => {
      if (f[0] > now - this.opts.editWindowMs) return true;
      floor = Math.max(floor, f[1]);
      return false;
    });
    if (floor === state.editFloor && keep.length === state.floors.length && floors === state.floors) return state;
    if (floor !== state.editFloor) this.editHistories.prune(floor);
    const edits = Object.fromEntries(Object.entries(state.edits).filter(([k]) => Number(k) > floor));
    return { ...state, editFloor: floor, floors: keep, edits };
  }
}
