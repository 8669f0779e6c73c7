// Our own SQLite files (not chat.db): WAL, synchronous=FULL (a commit is on disk before we ack it),
// foreign keys, and migrations numbered by PRAGMA user_version.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RelayError } from '../errors.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) a store and brings it to the latest migration, each in a transaction.
 * @throws RelayError STORE_OPEN_FAILED / STORE_TOO_NEW with the path and the reason.
 */
export function openStore(path: string, migrations: readonly string[]): Db {
  let db: Db;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new RelayError('STORE_OPEN_FAILED', `cannot open the store ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    db.close();
    throw new RelayError('STORE_TOO_NEW', `${path} was written by a newer imessage-relay (schema ${version}, this one knows ${migrations.length})`, { path });
  }
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/** Maps a write failure (disk full, read-only file) to a coded error that says so. */
export function storeWriteError(err: unknown, path: string): RelayError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL') return new RelayError('STORE_DISK_FULL', `the disk holding ${path} is full; nothing was lost, retrying`, { path }, { cause: err });
  if (code.startsWith('SQLITE_READONLY')) return new RelayError('STORE_READONLY', `${path} is read-only`, { path }, { cause: err });
  return new RelayError('STORE_WRITE_FAILED', `writing ${path} failed: ${(err as Error).message}`, { path }, { cause: err });
}
