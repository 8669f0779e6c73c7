// Poll cost: an idle poll (nothing changed) on a 1,000-row and a 1,000,000-row chat.db, the poll
// that reads, maps and emits one 500-row page, and a poll for one new row while 1,000 edited rows
// sit in the edit window (their edit histories must not be parsed again on every poll).
import { systemClock } from '../relay/clock.js';
import { ChatDbReader } from '../relay/chatdb/reader.js';
import { silentLogger } from '../relay/logger.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { HAVE_FIXTURES, fixture } from '../test/support/fixtures.js';
import { benchDb, CHAT, HANDLE, percentile } from './support.js';

type Log = (name: string, value: number, unit: string) => void;

function idlePollUs(reader: ChatDbReader, n = 20_000): number {
  for (let i = 0; i < 1000; i++) reader.poll();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) reader.poll();
  return ((performance.now() - t0) * 1000) / n;
}

export async function pollBench(log: Log): Promise<void> {
  for (const rows of [1_000, 1_000_000]) {
    const t0 = performance.now();
    const db = benchDb(rows);
    const label = rows === 1_000 ? '1k' : '1m';
    log(`poll.build_${label}_rows_s`, (performance.now() - t0) / 1000, 's');
    let emitted = 0;
    const reader = new ChatDbReader({
      path: db.writer.path, clock: systemClock, logger: silentLogger(), homeDir: '/Users/bench', state: null, startAfter: 'end',
      options: { settleMs: 0 }, commit: (events) => { emitted += events.length; },
    });
    reader.poll();
    log(`poll.idle_${label}_us`, idlePollUs(reader), 'µs');
    if (rows === 1_000_000) {
      const body = encodeAttributedBody('Hello from the page benchmark');
      const pageMs: number[] = [];
      for (let round = 0; round < 10; round++) {
        db.writer.db.transaction(() => { for (let i = 0; i < 500; i++) db.writer.insert({ chat: CHAT, handle: HANDLE, body }); })();
        const before = emitted;
        const t = performance.now();
        reader.poll();
        pageMs.push(performance.now() - t);
        if (emitted - before !== 500) throw new Error(`page emitted ${emitted - before} events`);
      }
      log('poll.page_500_rows_ms_p50', percentile(pageMs, 50), 'ms');
      log('poll.page_500_rows_ms_max', Math.max(...pageMs), 'ms');
    }
    reader.close();
    db.cleanup();
  }
  await editWindowBench(log);
}

/** One new row per poll while 1,000 rows of the edit window carry an edit history (Apple's, from the fixtures). */
export async function editWindowBench(log: Log): Promise<void> {
  if (!HAVE_FIXTURES) {
    process.stdout.write('poll.edit_window_*: skipped (needs the message-summary-info fixtures in ../shared/fixtures)\n');
    return;
  }
  const db = benchDb(1_000);
  let emitted = 0;
  const reader = new ChatDbReader({
    path: db.writer.path, clock: systemClock, logger: silentLogger(), homeDir: '/Users/bench', state: null, startAfter: 0,
    options: { settleMs: 0 }, commit: (events) => { emitted += events.length; },
  });
  while (reader.poll().ok && emitted < 1_000) { /* read the 1,000 rows: all inside the edit window */ }
  const summary = fixture('message-summary-info', 'Edited.plist');
  const editedAt = BigInt(Date.now() - 978_307_200_000) * 1_000_000n;
  db.writer.db.prepare('UPDATE message SET message_summary_info = ?, date_edited = ?').run(summary, editedAt);
  const before = emitted;
  reader.poll();
  if (emitted - before !== 1_000) throw new Error(`edit poll emitted ${emitted - before} events, not 1,000`);
  const body = encodeAttributedBody('One more message');
  const ms: number[] = [];
  for (let round = 0; round < 30; round++) {
    db.writer.insert({ chat: CHAT, handle: HANDLE, body });
    const n = emitted;
    const t = performance.now();
    reader.poll();
    ms.push(performance.now() - t);
    if (emitted - n !== 1) throw new Error(`a poll emitted ${emitted - n} events, not 1`);
  }
  log('poll.edit_window_1k_edited_new_row_ms_p50', percentile(ms, 50), 'ms');
  log('poll.edit_window_1k_edited_new_row_ms_max', Math.max(...ms), 'ms');
  reader.close();
  db.cleanup();
}
