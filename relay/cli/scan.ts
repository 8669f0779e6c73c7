// `imessage-relay scan`: prints the events the relay would forward, through the daemon's own
// reader and watcher. The admin's answer to "why didn't the bot see my message".
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { openChatDb } from '../chatdb/connection.js';
import { ChatDbReader } from '../chatdb/reader.js';
import { ChatDbWatcher } from '../chatdb/watcher.js';
import { asRelayError } from '../errors.js';
import { createLogger, silentLogger } from '../logger.js';
import { formatEvent } from './format-event.js';
import type { CliIo } from './io.js';
import { UsageError } from './io.js';

export const SCAN_USAGE = `imessage-relay scan [--db <chat.db>] [--after <rowid>] [--follow] [--json] [--settle <ms>] [--verbose]
  Prints the events the relay would forward from chat.db (default ~/Library/Messages/chat.db).
  --after <rowid>  start after this ROWID (default: the last 20 rows)
  --follow         keep watching until interrupted (Ctrl-C)
  --json           NDJSON, one event per line (the format sent to the hub)
  --settle <ms>    settle window (default 500)`;

/** Runs scan; resolves with the exit code. */
export async function scanCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      db: { type: 'string' }, after: { type: 'string' }, follow: { type: 'boolean' }, json: { type: 'boolean' },
      settle: { type: 'string' }, verbose: { type: 'boolean' },
    },
    strict: true,
  });
  const path = values.db ?? join(homedir(), 'Library', 'Messages', 'chat.db');
  const settleMs = values.settle === undefined ? 500 : Number(values.settle);
  if (!Number.isInteger(settleMs) || settleMs < 0) throw new UsageError(`--settle expects milliseconds, got ${values.settle}`);
  let after: number;
  if (values.after !== undefined) {
    after = Number(values.after);
    if (!Number.isInteger(after) || after < 0) throw new UsageError(`--after expects a ROWID (a whole number ≥ 0), got ${values.after}`);
  } else {
    try {
      const conn = openChatDb(path);
      after = Math.max(0, Number(conn.queries.maxRowid.get() ?? 0n) - 20);
      conn.close();
    } catch (err) {
      if (values.follow !== true) {
        const e = asRelayError(err);
        io.stderr(`error ${e.code}: ${e.message}\n`);
        return 1;
      }
      after = 0;
    }
  }
  const logger = values.verbose === true ? createLogger({ level: 'debug', destination: io.logDestination }) : silentLogger();
  let count = 0;
  const reader = new ChatDbReader({
    path, clock: systemClock, logger, homeDir: homedir(), state: null, startAfter: after, options: { settleMs },
    commit: (events) => {
      for (const e of events) io.stdout(`${values.json === true ? JSON.stringify(e) : formatEvent(e)}\n`);
      count += events.length;
    },
  });
  return await new Promise<number>((resolve) => {
    let lastError = '';
    const finish = (code: number): void => {
      watcher.stop();
      reader.close();
      io.offInterrupt(onInterrupt);
      resolve(code);
    };
    const onInterrupt = (): void => finish(0);
    const watcher = new ChatDbWatcher({
      path, poll: () => reader.poll(), clock: systemClock, logger,
      onPoll: (outcome) => {
        if (!outcome.ok) {
          if (outcome.error.code !== lastError) io.stderr(`error ${outcome.error.code}: ${outcome.error.message}\n`);
          lastError = outcome.error.code;
          if (values.follow !== true) finish(1);
          return;
        }
        lastError = '';
        if (values.follow !== true && outcome.nextDeadline === null && !outcome.more) {
          if (values.json !== true) io.stderr(`${count} event(s); cursor at ROWID ${reader.cursor()?.rowid ?? after}\n`);
          finish(0);
        }
      },
    });
    io.onInterrupt(onInterrupt);
    watcher.start();
    if (values.follow === true) io.stderr(`watching ${path} after ROWID ${reader.cursor()?.rowid ?? after} (Ctrl-C to stop)\n`);
  });
}
