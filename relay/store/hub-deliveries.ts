// Webhook deliveries: one row per (webhook, event), added with the event, walked in order per lane
// (one lane per chat, so a chat's events arrive in order), retried, then parked as dead letters.
import type { Db } from './database.js';
import type { Tx } from './hub-store.js';

export interface DeliveryRow {
  readonly hook: string;
  readonly event_seq: number;
  readonly lane: string;
  readonly state: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly next_at: number;
  readonly last_error: string | null;
  readonly account: string;
  readonly event_id: string;
  readonly prompt: number;
  readonly body: string;
}

export class HubDeliveries {
  private readonly s;

  constructor(db: Db, private readonly tx: Tx, private readonly now: () => number) {
    this.s = {
      add: db.prepare("INSERT OR IGNORE INTO deliveries (hook, event_seq, lane, state, next_at, updated_at, queued_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)"),
      pending: db.prepare(`SELECT d.*, e.account, e.event_id, e.prompt, e.body FROM deliveries d JOIN events e ON e.seq = d.event_seq
        WHERE d.hook = ? AND d.state = 'pending' AND d.event_seq > ? ORDER BY d.event_seq LIMIT ?`),
      delivered: db.prepare("UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, updated_at = ?, last_error = NULL WHERE hook = ? AND event_seq = ?"),
      failed: db.prepare('UPDATE deliveries SET state = ?, attempts = attempts + 1, next_at = ?, last_error = ?, updated_at = ? WHERE hook = ? AND event_seq = ?'),
      dead: db.prepare(`SELECT d.*, e.account, e.event_id, e.prompt, e.body FROM deliveries d JOIN events e ON e.seq = d.event_seq
        WHERE d.state = 'dead' ORDER BY d.event_seq LIMIT ?`),
      revive: db.prepare("UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?, updated_at = ?, queued_at = ? WHERE hook = ? AND event_seq = ? AND state = 'dead'"),
      backlog: db.prepare("SELECT COUNT(*) AS n, MIN(d.queued_at) AS oldest FROM deliveries d WHERE d.state = 'pending'"),
      deadCount: db.prepare("SELECT COUNT(*) FROM deliveries WHERE state = 'dead'").pluck(),
    };
  }

  /** Called inside the ingest transaction for each new event. */
  add(hook: string, eventSeq: number, lane: string, now: number): void {
    this.s.add.run(hook, eventSeq, lane, now, now, now);
  }

  /** Pending deliveries of a hook after `afterSeq`, in event order. */
  pending(hook: string, afterSeq: number, limit: number): DeliveryRow[] {
    return this.s.pending.all(hook, afterSeq, limit) as DeliveryRow[];
  }

  /** Marks deliveries done, many in one transaction (one disk sync for the lot). */
  markDelivered(hook: string, eventSeqs: readonly number[]): void {
    const now = this.now();
    this.tx(() => { for (const seq of eventSeqs) this.s.delivered.run(now, hook, seq); });
  }

  /** Records a failed attempt: retried at `nextAt`, or parked as a dead letter. */
  markFailed(hook: string, eventSeq: number, error: string, nextAt: number, dead: boolean): void {
    const now = this.now();
    this.tx(() => this.s.failed.run(dead ? 'dead' : 'pending', nextAt, error.slice(0, 500), now, hook, eventSeq));
  }

  dead(limit = 500): DeliveryRow[] {
    return this.s.dead.all(limit) as DeliveryRow[];
  }

  /** Puts a dead letter back in line. Returns false when there is no such dead letter. */
  revive(hook: string, eventSeq: number): boolean {
    const now = this.now();
    return this.tx(() => this.s.revive.run(now, now, now, hook, eventSeq).changes) === 1;
  }

  backlog(): { pending: number; dead: number; oldestMs: number | null } {
    const r = this.s.backlog.get() as { n: number; oldest: number | null };
    return { pending: r.n, dead: Number(this.s.deadCount.get()), oldestMs: r.oldest === null ? null : this.now() - r.oldest };
  }
}
