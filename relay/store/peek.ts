// Read-only looks into relay.db and hub.db for `imessage-relay doctor` while their daemon is stopped:
// opened `readonly` (never created, migrated or written), every statement run once, then closed.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { RelayError } from '../errors.js';

/** What the Mac's outbox holds, and the ids the relay says hello with. */
export interface MacStorePeek {
  /** Items not acknowledged by the hub (dead letters excluded). */
  readonly depth: number;
  /** created_at (ms) of the oldest of them; null when none. */
  readonly oldestAt: number | null;
  readonly deadLetters: number;
  /** The store's id (null before the relay first said hello). */
  readonly storeId: string | null;
}

/** What the hub's store says about deliveries and relays. */
export interface HubStorePeek {
  readonly pending: number;
  /** Dead letters per webhook name. */
  readonly dead: ReadonlyMap<string, number>;
  /** last_seen_at (ms) per relay account that has ever connected. */
  readonly lastSeen: ReadonlyMap<string, number>;
}

function withReadOnly<T>(path: string, fn: (db: Database.Database) => T): T | null {
  if (!existsSync(path)) return null;
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 2000 });
    return fn(db);
  } catch (err) {
    throw new RelayError('STORE_OPEN_FAILED', `cannot read ${path}: ${(err as Error).message}`, { path }, { cause: err });
  } finally {
    db?.close();
  }
}

/**
 * The outbox of `relay.db`, read-only; null when the file does not exist yet (the relay never ran).
 * @throws RelayError STORE_OPEN_FAILED when it exists but cannot be read.
 */
export function peekMacStore(path: string): MacStorePeek | null {
  return withReadOnly(path, (db) => {
    const d = db.prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE acked_at IS NULL AND dead_at IS NULL').get() as { n: number; oldest: number | null };
    const dead = Number(db.prepare('SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL').pluck().get());
    const storeId = db.prepare("SELECT value FROM cursors WHERE name = 'store_id'").pluck().get() as string | undefined;
    return { depth: d.n, oldestAt: d.oldest, deadLetters: dead, storeId: storeId ?? null };
  });
}

/**
 * Deliveries and relays of `hub.db`, read-only; null when the file does not exist yet.
 * @throws RelayError STORE_OPEN_FAILED when it exists but cannot be read.
 */
export function peekHubStore(path: string): HubStorePeek | null {
  return withReadOnly(path, (db) => {
    const pending = Number(db.prepare("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'").pluck().get());
    const dead = db.prepare("SELECT hook, COUNT(*) AS n FROM deliveries WHERE state = 'dead' GROUP BY hook ORDER BY hook").all() as Array<{ hook: string; n: number }>;
    const seen = db.prepare('SELECT account, last_seen_at AS at FROM relays WHERE last_seen_at IS NOT NULL').all() as Array<{ account: string; at: number }>;
    return { pending, dead: new Map(dead.map((r) => [r.hook, r.n])), lastSeen: new Map(seen.map((r) => [r.account, r.at])) };
  });
}
