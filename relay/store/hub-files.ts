// Files on the hub, as rows: uploads (direction 'out', account '*', id = upload UUID) and incoming
// attachments (direction 'in', by relay account and Apple's attachment guid), with their state.
// The bytes live in hub/file-vault.ts.
import type { Db } from './database.js';
import type { Tx } from './hub-store.js';

/** pending: the event arrived, the bytes not yet; ready: served; the rest say why there are no bytes. */
export type FileState = 'pending' | 'ready' | 'too_large' | 'missing' | 'unreadable' | 'corrupt' | 'disabled'
  | 'outside_root' | 'symlink' | 'not_regular';

export interface FileRow {
  readonly account: string;
  readonly direction: 'in' | 'out';
  readonly guid: string;
  readonly name: string | null;
  readonly mime_type: string | null;
  readonly bytes: number | null;
  readonly sha256: string | null;
  readonly state: FileState;
  readonly error: string | null;
  /** An attachment the relay sent for us: its bytes are this upload's. */
  readonly upload_id: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

export interface FileMeta {
  readonly name: string | null;
  readonly mime_type: string | null;
  readonly bytes: number | null;
  readonly sha256?: string | null;
}

export class HubFiles {
  private readonly s;

  constructor(db: Db, private readonly tx: Tx, private readonly now: () => number) {
    this.s = {
      insert: db.prepare(`INSERT OR IGNORE INTO files (account, direction, guid, name, mime_type, bytes, sha256, state, error, created_at, updated_at)
        VALUES (@account, @direction, @guid, @name, @mime_type, @bytes, @sha256, @state, @error, @now, @now)`),
      set: db.prepare(`INSERT INTO files (account, direction, guid, name, mime_type, bytes, sha256, state, error, created_at, updated_at)
        VALUES (@account, @direction, @guid, @name, @mime_type, @bytes, @sha256, @state, @error, @now, @now)
        ON CONFLICT(direction, guid, account) DO UPDATE SET name = COALESCE(excluded.name, files.name),
          mime_type = COALESCE(excluded.mime_type, files.mime_type), bytes = COALESCE(excluded.bytes, files.bytes),
          sha256 = COALESCE(excluded.sha256, files.sha256), state = excluded.state, error = excluded.error, updated_at = excluded.updated_at`),
      own: db.prepare(`INSERT INTO files (account, direction, guid, name, mime_type, bytes, sha256, state, error, upload_id, created_at, updated_at)
        VALUES (@account, 'in', @guid, @name, @mime_type, @bytes, @sha256, 'ready', NULL, @upload, @now, @now)
        ON CONFLICT(direction, guid, account) DO UPDATE SET state = 'ready', error = NULL, upload_id = excluded.upload_id,
          sha256 = excluded.sha256, bytes = excluded.bytes, updated_at = excluded.updated_at`),
      get: db.prepare('SELECT * FROM files WHERE direction = ? AND guid = ? AND account = ?'),
      byGuid: db.prepare("SELECT * FROM files WHERE direction = 'in' AND guid = ? ORDER BY created_at DESC LIMIT 1"),
      old: db.prepare('SELECT * FROM files WHERE updated_at < ?'),
      remove: db.prepare('DELETE FROM files WHERE direction = ? AND guid = ? AND account = ?'),
    };
  }

  /** Records an upload (ready to be sent). */
  addUpload(id: string, meta: FileMeta): FileRow {
    const now = this.now();
    this.tx(() => this.s.set.run({ account: '*', direction: 'out', guid: id, ...meta, sha256: meta.sha256 ?? null, state: 'ready', error: null, now }));
    return this.upload(id)!;
  }

  upload(id: string): FileRow | null {
    return (this.s.get.get('out', id, '*') as FileRow | undefined) ?? null;
  }

  /** An event named this attachment: its bytes are expected (no change if already known). Runs inside the caller's transaction. */
  expectIncoming(account: string, guid: string, meta: FileMeta, now: number): void {
    this.s.insert.run({ account, direction: 'in', guid, ...meta, sha256: null, state: 'pending', error: null, now });
  }

  /** An attachment of a row the relay sent for a command: served from the upload it came from. Inside the caller's transaction. */
  ownIncoming(account: string, guid: string, upload: FileRow, now: number): void {
    this.s.own.run({ account, guid, name: upload.name, mime_type: upload.mime_type, bytes: upload.bytes, sha256: upload.sha256, upload: upload.guid, now });
  }

  /** The relay said what became of an attachment's bytes. Runs inside the caller's transaction. */
  setIncoming(account: string, guid: string, meta: FileMeta, state: FileState, error: string | null, now: number): void {
    this.s.set.run({ account, direction: 'in', guid, ...meta, sha256: meta.sha256 ?? null, state, error, now });
  }

  /** An incoming attachment by Apple's guid (in `account` if given, else the newest of any account). */
  incoming(guid: string, account?: string): FileRow | null {
    const row = account === undefined ? this.s.byGuid.get(guid) : this.s.get.get('in', guid, account);
    return (row as FileRow | undefined) ?? null;
  }

  /** Rows not touched since `cutoff` (their bytes are removed by the caller), deleted. */
  pruneOlderThan(cutoff: number, removeBytes: (row: FileRow) => void): number {
    const rows = this.s.old.all(cutoff) as FileRow[];
    for (const r of rows) removeBytes(r);
    this.tx(() => { for (const r of rows) this.s.remove.run(r.direction, r.guid, r.account); });
    return rows.length;
  }
}
