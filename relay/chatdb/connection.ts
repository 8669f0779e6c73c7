// One read-only connection to chat.db with its prepared statements, and the file identity it was
// opened on (so a replaced chat.db or a recreated WAL is noticed and the connection reopened).
import { accessSync, constants, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { probeCapabilities } from './capabilities.js';
import { chatDbError } from './errors.js';
import { prepareQueries, type ChatDbQueries } from './queries.js';

export interface ChatDbConnection {
  readonly path: string;
  readonly queries: ChatDbQueries;
  /** True when chat.db or chat.db-wal is no longer the file this connection opened. */
  replaced(): boolean;
  close(): void;
}

function identity(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

/** Why the file itself cannot be read, if it cannot: 'missing', 'denied', or null when it can. */
function fileProblem(path: string): 'missing' | 'denied' | null {
  try {
    accessSync(path, constants.R_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'denied';
  }
}

/**
 * Opens chat.db read-only (`readonly`, `fileMustExist`, busy timeout). Never writes, never
 * checkpoints, never changes the journal mode.
 * @throws RelayError CHATDB_NOT_FOUND / CHATDB_NO_ACCESS / CHATDB_CORRUPT / CHATDB_SCHEMA with a fix-it message.
 */
export function openChatDb(path: string, busyTimeoutMs = 5000): ChatDbConnection {
  let db: Database.Database | undefined;
  try {
    const dbId = identity(path);
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    const queries = prepareQueries(db, probeCapabilities(db));
    queries.dataVersion.get(); // fails here, not later, on a file that is not a database
    let walId = identity(`${path}-wal`);
    const handle = db;
    return {
      path,
      queries,
      replaced: () => {
        if (identity(path) !== dbId) return true;
        const now = identity(`${path}-wal`);
        if (walId === 'missing') walId = now; // created after we opened: adopt it
        return now !== walId;
      },
      close: () => { if (handle.open) handle.close(); },
    };
  } catch (err) {
    if (db?.open) db.close();
    throw chatDbError(err, path, fileProblem(path));
  }
}
