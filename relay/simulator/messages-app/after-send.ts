// Messages after osascript has returned: each row becomes sent (its file transferred), then delivered
// in a 1:1 iMessage chat (groups and SMS get no receipts); or it fails with error 22 (unreachable)
// or 25 (a file the sandbox could not read).
import { unixMsToApple } from '../../model/apple-time.js';
import { MessagesDb } from '../messages-db.js';
import type { WrittenRow } from './rows.js';
import type { Scenario } from './scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function advanceRows(scenario: Scenario, rows: readonly WrittenRow[]): Promise<void> {
  const outcome = scenario.outcome ?? 'delivered';
  if (rows.length === 0 || outcome === 'ghost') return;
  const db = new MessagesDb(scenario.chatDb);
  db.db.pragma('busy_timeout = 5000');
  try {
    await sleep(scenario.sentAfterMs ?? 150);
    for (const r of rows) {
      if (r.unreadable === true) db.update(r.rowid, { error: 25, is_finished: 1 });
      else if (outcome === 'error:22') db.update(r.rowid, { error: 22, is_finished: 1 });
      else {
        db.transferState(r.rowid, 5);
        db.update(r.rowid, { is_sent: 1, is_finished: 1 });
      }
    }
    if (outcome === 'delivered') {
      await sleep(scenario.finalAfterMs ?? 150);
      for (const r of rows) {
        if (r.unreadable === true) continue;
        const row = db.db.prepare('SELECT cache_roomnames AS room, service FROM message WHERE ROWID = ?').get(r.rowid) as { room: string | null; service: string | null } | undefined;
        if (row !== undefined && row.room === null && (row.service === 'iMessage' || row.service === 'RCS')) db.update(r.rowid, { is_delivered: 1, date_delivered: unixMsToApple(Date.now()) });
      }
    }
  } finally {
    db.close();
  }
}
