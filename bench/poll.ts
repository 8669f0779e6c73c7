// Poll cost: an idle poll (nothing changed) on a 1,000-row and a 1,000,000-row chat.db, and the
// poll that reads, maps and emits one 500-row page.
import { systemClock } from '../relay/clock.js';
import { ChatDbReader } from '../relay/chatdb/reader.js';
import { silentLogger } from '../relay/logger.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
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
}
