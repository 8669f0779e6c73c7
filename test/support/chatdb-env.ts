// A throwaway Messages directory with a chat.db built from Apple's schema, a writer that behaves
// like Messages, and a reader + watcher under test whose events are collected.
import { mkdirSync, mkdtempSync, rmSync, type watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../relay/clock.js';
import { ChatDbReader, type ReaderOptions } from '../../relay/chatdb/reader.js';
import type { ReaderState } from '../../relay/chatdb/reader-state.js';
import { ChatDbWatcher, type WatcherOptions } from '../../relay/chatdb/watcher.js';
import { silentLogger } from '../../relay/logger.js';
import type { RelayEvent } from '../../relay/model/events.js';
import { MessagesDb } from '../../relay/simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../../relay/simulator/schema.js';
import { appleSchema, type AppleSchema } from './fixtures.js';

export interface Collected {
  readonly events: RelayEvent[];
  state: ReaderState | null;
  commits: number;
}

export function tempDir(prefix = 'imr-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Simulated Messages outlives the relay as the real one does: its detached after-send updater may
  // still be writing chat.db's -wal/-shm files while the folder goes. rmSync's own retries only retry
  // the rmdir (a file made after the folder was listed stays), so the whole removal is tried again.
  return { dir, cleanup: () => removeTree(dir) };
}

function removeTree(dir: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (attempt >= 50 || !['ENOTEMPTY', 'EBUSY', 'EPERM'].includes(code)) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

/** Creates `<dir>/Messages/chat.db` from Apple's schema (or ours) with an open WAL writer. */
export function makeMessagesDb(dir: string, schema: AppleSchema | 'minimal' = 'macos15'): MessagesDb {
  mkdirSync(join(dir, 'Messages'), { recursive: true });
  return new MessagesDb(join(dir, 'Messages', 'chat.db'), schema === 'minimal' ? [MINIMAL_CHATDB_SCHEMA] : appleSchema(schema));
}


export interface StartedReader {
  readonly reader: ChatDbReader;
  readonly watcher: ChatDbWatcher;
  readonly out: Collected;
  /** Times (Date.now()) of the polls the watcher ran, successful or not. */
  readonly polls: number[];
  stop(): void;
}

/** Starts a reader + watcher on `path`, collecting committed events in memory. */
export function startReader(path: string, opts: {
  state?: ReaderState | null;
  startAfter?: number | 'end';
  reader?: Partial<ReaderOptions>;
  watcher?: Partial<WatcherOptions>;
  out?: Collected;
  homeDir?: string;
  watch?: typeof watch;
} = {}): StartedReader {
  const out: Collected = opts.out ?? { events: [], state: null, commits: 0 };
  const logger = silentLogger();
  const reader = new ChatDbReader({
    path, clock: systemClock, logger, homeDir: opts.homeDir ?? '/Users/test',
    state: opts.state ?? null, startAfter: opts.startAfter ?? 0,
    options: { settleMs: 100, ...opts.reader },
    commit: (events, state) => { out.events.push(...events); out.state = state; out.commits++; },
  });
  const polls: number[] = [];
  const watcher = new ChatDbWatcher({
    path, poll: () => reader.poll(), clock: systemClock, logger, options: { pollIntervalMs: 200, ...opts.watcher },
    onPoll: () => { polls.push(Date.now()); },
    ...(opts.watch === undefined ? {} : { watch: opts.watch }),
  });
  watcher.start();
  return { reader, watcher, out, polls, stop: () => { watcher.stop(); reader.close(); } };
}

/** Resolves when `check` is true, polling every 10 ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
