// Probes which columns this chat.db has (macOS 11 through 26 differ), once per connection.
import type Database from 'better-sqlite3';
import { RelayError } from '../errors.js';
import { ChatDbCode } from './errors.js';

export interface Capabilities {
  /** True when `table` has `column`. */
  has(table: string, column: string): boolean;
}

const TABLES = ['message', 'chat', 'handle', 'attachment', 'chat_message_join', 'chat_handle_join', 'message_attachment_join'];
const REQUIRED: Record<string, readonly string[]> = {
  message: ['ROWID', 'guid'],
  chat: ['ROWID', 'guid'],
  handle: ['ROWID', 'id'],
  chat_message_join: ['chat_id', 'message_id'],
};

/**
 * Reads `PRAGMA table_info` (read-only) for the tables the relay uses.
 * @throws RelayError CHATDB_SCHEMA when a table or column the relay cannot do without is missing.
 */
export function probeCapabilities(db: Database.Database): Capabilities {
  const columns = new Map<string, Set<string>>();
  for (const table of TABLES) {
    const rows = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
    columns.set(table, new Set(rows.map((r) => r.name.toLowerCase())));
  }
  for (const [table, cols] of Object.entries(REQUIRED)) {
    const have = columns.get(table)!;
    for (const c of cols) {
      if (c !== 'ROWID' && !have.has(c.toLowerCase())) {
        throw new RelayError(ChatDbCode.Schema, `chat.db has no ${table}.${c}: this is not a Messages database`, { table, column: c });
      }
    }
    if (have.size === 0) throw new RelayError(ChatDbCode.Schema, `chat.db has no table ${table}: this is not a Messages database`, { table });
  }
  return {
    has: (table, column) => column === 'ROWID' || (columns.get(table)?.has(column.toLowerCase()) ?? false),
  };
}
