// Error codes of the chat.db reader, each with a message that tells the admin how to fix it.
import { RelayError } from '../errors.js';

export const ChatDbCode = {
  NotFound: 'CHATDB_NOT_FOUND',
  NoAccess: 'CHATDB_NO_ACCESS',
  Corrupt: 'CHATDB_CORRUPT',
  Busy: 'CHATDB_BUSY',
  Schema: 'CHATDB_SCHEMA',
  Failed: 'CHATDB_FAILED',
} as const;

/** Maps an open or query failure to a RelayError whose message says what to do. */
export function chatDbError(err: unknown, path: string, file: 'missing' | 'denied' | null = null): RelayError {
  if (err instanceof RelayError) return err;
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  const sqlite = e.code ?? '';
  if (file === 'denied' || /EACCES|EPERM|authori[sz]ation denied|permission/i.test(msg) || sqlite === 'SQLITE_AUTH' || sqlite === 'SQLITE_PERM') {
    return new RelayError(ChatDbCode.NoAccess,
      `no permission to read ${path}: grant Full Disk Access to the program that runs the relay (${process.execPath}) ` +
      'in System Settings → Privacy & Security → Full Disk Access, then restart it',
      { path, sqlite }, { cause: err });
  }
  if (file === 'missing' || /ENOENT|does not exist|unable to open database file/i.test(msg)) {
    return new RelayError(ChatDbCode.NotFound,
      `chat.db not found or not openable at ${path}: check the path, that Messages has been opened and signed in once, ` +
      'and that this process has Full Disk Access (System Settings → Privacy & Security → Full Disk Access)',
      { path, sqlite }, { cause: err });
  }
  if (sqlite === 'SQLITE_NOTADB' || sqlite === 'SQLITE_CORRUPT' || /not a database|malformed/i.test(msg)) {
    return new RelayError(ChatDbCode.Corrupt, `${path} is not a readable SQLite database (${msg})`, { path, sqlite }, { cause: err });
  }
  if (sqlite.startsWith('SQLITE_BUSY') || sqlite.startsWith('SQLITE_LOCKED')) {
    return new RelayError(ChatDbCode.Busy, `chat.db is busy (${msg}); will retry`, { path, sqlite }, { cause: err });
  }
  if (/no such (table|column)/i.test(msg)) {
    return new RelayError(ChatDbCode.Schema, `chat.db at ${path} does not look like a Messages database (${msg})`, { path, sqlite }, { cause: err });
  }
  return new RelayError(ChatDbCode.Failed, `reading ${path} failed: ${msg}`, { path, sqlite }, { cause: err });
}
