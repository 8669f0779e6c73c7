// The Mac store's schema (its migrations, in order) and the shapes of its rows, apart from the store
// itself so each stays small.
import type { OutboxItemType } from '../model/wire.js';

export const MAC_MIGRATIONS = [
  `CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, item_id TEXT NOT NULL UNIQUE,
     body TEXT NOT NULL, created_at INTEGER NOT NULL, acked_at INTEGER);
   CREATE INDEX outbox_acked ON outbox(acked_at);
   CREATE TABLE inbox (seq INTEGER PRIMARY KEY, command_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, state TEXT NOT NULL,
     received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, apple_guid TEXT, error TEXT);
   CREATE INDEX inbox_state ON inbox(state);
   CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  `ALTER TABLE inbox ADD COLUMN probe_rowid INTEGER;
   ALTER TABLE inbox ADD COLUMN sent_rowid INTEGER;
   CREATE TABLE sent_rows (apple_guid TEXT PRIMARY KEY, command_id TEXT NOT NULL, sent_at INTEGER NOT NULL);`,
  `CREATE TABLE uploads (guid TEXT PRIMARY KEY, path TEXT, name TEXT, mime_type TEXT, expected_bytes INTEGER, state TEXT NOT NULL,
     last_size INTEGER, deadline INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX uploads_state ON uploads(state);`,
  `ALTER TABLE outbox ADD COLUMN dead_at INTEGER;
   ALTER TABLE outbox ADD COLUMN dead_reason TEXT;
   CREATE INDEX outbox_dead ON outbox(dead_at) WHERE dead_at IS NOT NULL;`,
];

/** An outbox item that will never reach the hub: too large to carry, or refused by the hub. */
export interface DeadLetter {
  readonly seq: number;
  readonly type: OutboxItemType;
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

export interface MacStoreOptions {
  /** Largest item body (JSON, UTF-8 bytes) queued for the hub; a larger one is dead-lettered at once (default 4 MiB). */
  readonly maxItemBytes?: number;
  /** Told of each new dead letter once its transaction is committed. */
  readonly onDeadLetter?: (d: DeadLetter) => void;
}

/** An incoming attachment whose bytes go to the hub once the file is complete on disk. */
export interface UploadRow {
  readonly guid: string;
  readonly path: string | null;
  readonly name: string | null;
  readonly mimeType: string | null;
  readonly expectedBytes: number | null;
  /** Size seen at the previous look (a file is complete when it stops growing). */
  readonly lastSize: number | null;
  /** Until when a file that is not there yet is waited for (ms). */
  readonly deadline: number;
}

/** The Mac store's counts for the stats line. */
export interface MacStoreStats {
  readonly outboxRows: number;
  readonly unacked: number;
  /** Events read from chat.db since the time asked for. */
  readonly eventsSince: number;
  readonly inbox: Readonly<Record<string, number>>;
  readonly uploadsWaiting: number;
}

export interface NewOutboxItem {
  readonly type: OutboxItemType;
  readonly id: string;
  readonly body: Record<string, unknown>;
}

/** An outbox item whose body is still the JSON text written by enqueue. */
export interface RawOutboxItem {
  readonly seq: number;
  readonly type: OutboxItemType;
  readonly id: string;
  readonly body: string;
}

export interface InboxRow {
  readonly seq: number;
  readonly commandId: string;
  readonly body: Record<string, unknown>;
  readonly state: string;
  /** chat.db MAX(ROWID) noted just before osascript ran (null before the send started). */
  readonly probeRowid: number | null;
  /** The chat.db row the send produced, once found. */
  readonly sentRowid: number | null;
  readonly appleGuid: string | null;
}
