// The hub's store: one SQLite file holding the relays, their events (unique per relay by event id),
// the chats seen, commands and their results, and webhook deliveries.
import { openStore, optimizeStore, storeWriteError, type Db, type OptimizeResult } from './database.js';
import { HubCommands } from './hub-commands.js';
import { HubDeliveries } from './hub-deliveries.js';
import { HubEvents } from './hub-events.js';
import { HubFiles } from './hub-files.js';
import { HubChats } from './hub-chats.js';
import { HubRows } from './hub-rows.js';
import { HubAssistant } from './hub-assistant.js';

/** The hub store's migrations, in order (PRAGMA user_version counts those applied). */
export const HUB_MIGRATIONS: readonly string[] = [
  `CREATE TABLE relays (account TEXT PRIMARY KEY, public_key TEXT NOT NULL, acked_seq INTEGER NOT NULL DEFAULT 0,
     cmd_acked INTEGER NOT NULL DEFAULT 0, store_id TEXT, last_seen_at INTEGER);
   CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, event_id TEXT NOT NULL, kind TEXT NOT NULL,
     guid TEXT, chat_guid TEXT, prompt INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, received_at INTEGER NOT NULL,
     UNIQUE(account, event_id));
   CREATE INDEX events_received ON events(received_at);
   CREATE TABLE chats (account TEXT NOT NULL, guid TEXT NOT NULL, identifier TEXT, name TEXT, is_group INTEGER NOT NULL,
     participants TEXT NOT NULL, service TEXT, last_event_at TEXT, last_seq INTEGER NOT NULL, PRIMARY KEY (account, guid));
   CREATE TABLE commands (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
     idempotency_key TEXT, body TEXT NOT NULL, status TEXT NOT NULL, apple_guid TEXT, error TEXT,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(account, idempotency_key));
   CREATE TABLE command_results (item_id TEXT PRIMARY KEY, command_id TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
     received_at INTEGER NOT NULL);
   CREATE TABLE deliveries (hook TEXT NOT NULL, event_seq INTEGER NOT NULL, lane TEXT NOT NULL, state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT, updated_at INTEGER NOT NULL,
     PRIMARY KEY (hook, event_seq));
   CREATE INDEX deliveries_state ON deliveries(hook, state, event_seq);`,
  `CREATE TABLE files (account TEXT NOT NULL, direction TEXT NOT NULL, guid TEXT NOT NULL, name TEXT, mime_type TEXT,
     bytes INTEGER, sha256 TEXT, state TEXT NOT NULL, error TEXT, upload_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (direction, guid, account));
   CREATE INDEX files_updated ON files(updated_at);`,
  // Issue 9: the row feed (events by the Mac's message ROWID), chat ids, and the row a send made.
  `ALTER TABLE events ADD COLUMN mac_rowid INTEGER;
   UPDATE events SET mac_rowid = json_extract(body, '$.rowid') WHERE kind IN ('message', 'from_me', 'reaction');
   CREATE INDEX events_mac_rowid ON events(account, mac_rowid);
   CREATE INDEX events_chat_rowid ON events(account, chat_guid, mac_rowid);
   ALTER TABLE chats ADD COLUMN chat_id INTEGER;
   ALTER TABLE chats ADD COLUMN last_message_at TEXT;
   UPDATE chats SET last_message_at = last_event_at;
   CREATE INDEX chats_chat_id ON chats(account, chat_id);
   ALTER TABLE commands ADD COLUMN row_id INTEGER;
   ALTER TABLE commands ADD COLUMN row_chat_guid TEXT;
   ALTER TABLE commands ADD COLUMN row_chat_id INTEGER;
   ALTER TABLE commands ADD COLUMN row_service TEXT;
   CREATE INDEX commands_apple_guid ON commands(account, apple_guid);`,
  // The built-in assistant (store/hub-assistant.ts): a chat's recent events by index, what was answered.
  `CREATE INDEX events_chat ON events(account, chat_guid, seq);
   CREATE TABLE assistant_chats (account TEXT NOT NULL, chat_guid TEXT NOT NULL, answered_seq INTEGER NOT NULL DEFAULT 0,
     notice_at INTEGER, apology_at INTEGER, PRIMARY KEY (account, chat_guid));
   CREATE TABLE assistant_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);`,
  // A delivery's wait is counted from when it was queued (or revived), not from its last attempt:
  // a receiver that keeps failing must age the backlog, not keep it looking fresh.
  `ALTER TABLE deliveries ADD COLUMN queued_at INTEGER;
   UPDATE deliveries SET queued_at = updated_at;`,
];

/** The hub store's counts for the stats line. */
export interface HubStoreStats {
  readonly events: number;
  readonly eventsSince: number;
  readonly commands: Readonly<Record<string, number>>;
  readonly files: number;
}

/** A store transaction runner that turns write failures into coded errors. */
export type Tx = <T>(fn: () => T) => T;

export class HubStore {
  readonly events: HubEvents;
  readonly commands: HubCommands;
  readonly deliveries: HubDeliveries;
  readonly files: HubFiles;
  readonly chats: HubChats;
  readonly rows: HubRows;
  readonly assistant: HubAssistant;
  private readonly db: Db;

  constructor(private readonly path: string, now: () => number) {
    this.db = openStore(path, HUB_MIGRATIONS);
    const tx: Tx = (fn) => {
      try {
        return this.db.transaction(fn)();
      } catch (err) {
        throw storeWriteError(err, this.path);
      }
    };
    this.deliveries = new HubDeliveries(this.db, tx, now);
    this.commands = new HubCommands(this.db, tx, now);
    this.files = new HubFiles(this.db, tx, now);
    this.events = new HubEvents(this.db, tx, now, this.deliveries, this.commands, this.files);
    this.chats = new HubChats(this.db, tx);
    this.rows = new HubRows(this.db, now);
    this.assistant = new HubAssistant(this.db, tx, now, this.commands);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Deletes events, delivered webhooks, finished commands (and the file chunks their relay has) older than `olderThanMs`. */
  prune(olderThanMs: number, now: number): number {
    const cutoff = now - olderThanMs;
    return this.db.transaction(() =>
      this.db.prepare("DELETE FROM deliveries WHERE state = 'delivered' AND updated_at < ?").run(cutoff).changes
      + this.db.prepare(`DELETE FROM events WHERE received_at < ? AND NOT EXISTS
          (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state != 'delivered')`).run(cutoff).changes
      + this.db.prepare(`DELETE FROM command_results WHERE received_at < ?`).run(cutoff).changes
      + this.db.prepare(`DELETE FROM commands WHERE updated_at < ? AND (status IN ('sent', 'delivered', 'read', 'failed', 'unknown')
          OR (status = 'chunk' AND seq <= (SELECT r.cmd_acked FROM relays r WHERE r.account = commands.account)))`).run(cutoff).changes)();
  }

  /** PRAGMA optimize, incremental vacuum and a WAL checkpoint (scheduled upkeep). */
  optimize(): OptimizeResult {
    return optimizeStore(this.db, this.path);
  }

  /** Counts for the hourly stats line (no content): events (all, and received since `since`), commands by status, files. */
  stats(since: number): HubStoreStats {
    const e = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(received_at >= ?), 0) AS since FROM events').get(since) as { n: number; since: number };
    const commands = Object.fromEntries((this.db.prepare("SELECT status, COUNT(*) AS n FROM commands WHERE status != 'chunk' GROUP BY status").all() as Array<{ status: string; n: number }>)
      .map((r) => [r.status, r.n]));
    const files = Number(this.db.prepare('SELECT COUNT(*) FROM files').pluck().get());
    return { events: e.n, eventsSince: e.since, commands, files };
  }
}
