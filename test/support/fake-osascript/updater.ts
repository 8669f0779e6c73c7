// Messages after osascript has returned: the row becomes sent, then delivered, or gets error 22.
import { MessagesDb } from '../../../relay/simulator/messages-db.js';
import { unixMsToApple } from '../../../relay/model/apple-time.js';
import type { Scenario } from './scenario.js';

const { scenario, rows } = JSON.parse(process.argv[2] ?? '{}') as { scenario: Scenario; rows: Array<{ rowid: number }> };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const outcome = scenario.outcome ?? 'delivered';
const db = new MessagesDb(scenario.chatDb);
db.db.pragma('busy_timeout = 5000');
try {
  await sleep(scenario.sentAfterMs ?? 150);
  for (const r of rows) {
    if (outcome === 'error:22') db.update(r.rowid, { error: 22, is_finished: 1 });
    else db.update(r.rowid, { is_sent: 1, is_finished: 1 });
  }
  if (outcome === 'delivered') {
    await sleep(scenario.finalAfterMs ?? 150);
    for (const r of rows) {
      const group = db.db.prepare('SELECT cache_roomnames FROM message WHERE ROWID = ?').pluck().get(r.rowid);
      if (group === null || group === undefined) db.update(r.rowid, { is_delivered: 1, date_delivered: unixMsToApple(Date.now()) });
    }
  }
} finally {
  db.close();
}
