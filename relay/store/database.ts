// Our own SQLite files (not chat.db): WAL, synchronous=FULL (a commit is on disk before we ack it),
// foreign keys, and migrations numbered by PRAGMA user_version. The file, its -wal and -shm are
// 0600 and their folder 0700, whatever the umask.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RelayError } from '../errors.js';

export type Db = Database.Database;

/** chmod that gives up quietly on a file this user does not own (EPERM): tightening is best effort there. */
function tighten(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') throw err;
  }
}

/**
 * Opens (creating if needed) a store and brings it to the latest migration, each in a transaction.
 * The folder is made (or set to) 0700 and the database file is created 0600 before SQLite opens it:
 * SQLite would make it 0644 less the umask, and it gives the -wal and -shm it creates the database's
 * mode. Files an older version left 0644 are tightened.
 * @throws RelayError STORE_OPEN_FAILED / STORE_TOO_NEW with the path and the reason.
 */
export function openStore(path: string, migrations: readonly string[]): Db {
  let db: Db;
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      tighten(dirname(path), 0o700);
      closeSync(openSync(path, 'a', 0o600));
      tighten(path, 0o600);
    }
    db = new Database(path);
    // A new file hands deleted pages back on request (the upkeep's incremental vacuum): settable only before WAL and the first table.
    if (db.prepare('SELECT COUNT(*) FROM sqlite_schema').pluck().get() === 0) db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    for (const f of [`${path}-wal`, `${path}-shm`]) if (path !== ':memory:' && existsSync(f)) tighten(f, 0o600);
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

/** What one optimize pass did. */
export interface OptimizeResult {
  /** Free pages handed back to the file system. */
  readonly freedPages: number;
  /** The file was made before incremental vacuum was on: it was switched and rewritten (a full VACUUM, once). */
  readonly converted: boolean;
}

/**
 * Scheduled upkeep of one store: lets SQLite refresh its query statistics (PRAGMA optimize), hands
 * free pages back (incremental vacuum) and truncates the WAL, so the file shrinks after a prune.
 * A store made before auto_vacuum was INCREMENTAL is converted the first time (one full VACUUM).
 * @throws RelayError STORE_DISK_FULL / STORE_READONLY / STORE_WRITE_FAILED
 */
export function optimizeStore(db: Db, path: string): OptimizeResult {
  try {
    let converted = false;
    if (db.pragma('auto_vacuum', { simple: true }) !== 2) {
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec('VACUUM');
      converted = true;
    }
    const before = db.pragma('freelist_count', { simple: true }) as number;
    db.pragma('incremental_vacuum');
    const after = db.pragma('freelist_count', { simple: true }) as number;
    db.pragma('optimize');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { freedPages: before - after, converted };
  } catch (err) {
    throw storeWriteError(err, path);
  }
}
