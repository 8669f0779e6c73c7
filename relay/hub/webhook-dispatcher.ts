// Delivers stored events to one webhook URL: signed POSTs, one lane per chat so a chat's events
// arrive in order while chats go in parallel, retries with exponential backoff, then dead letters.
// At-least-once: the delivery is marked only after the receiver answered 2xx.
import type { Clock } from '../clock.js';
import type { WebhookConfig } from '../config/hub-config.js';
import type { Metrics } from '../health/metrics.js';
import type { Logger } from '../logger.js';
import type { DeliveryRow } from '../store/hub-deliveries.js';
import type { HubStore } from '../store/hub-store.js';
import type { StoredEvent } from '../store/hub-events.js';
import { createPoster, type Post } from './http-post.js';
import { webhookSigner, type Signer } from './webhook-signature.js';

export interface DispatcherDeps {
  readonly hook: WebhookConfig;
  readonly store: HubStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The JSON a receiver gets: the event with its stable id, the hub's sequence and the relay account. */
export function webhookPayload(row: Pick<DeliveryRow, 'event_id' | 'event_seq' | 'account' | 'prompt' | 'body'>): string {
  // The stored body is already the event's JSON: spliced in as is, not parsed and written again.
  return `{"id":${JSON.stringify(row.event_id)},"seq":${row.event_seq},"account":${JSON.stringify(row.account)},"prompt":${row.prompt === 1},"event":${row.body}}`;
}

const MAX_LOADED = 20_000;

export class WebhookDispatcher {
  private readonly lanes = new Map<string, DeliveryRow[]>();
  private readonly busy = new Set<string>();
  /** Event seqs held in memory (at most MAX_LOADED; the rest stay in the store until there is room). */
  private readonly known = new Set<number>();
  private loadedUpTo = 0;
  private capped = false;
  private timer: unknown = null;
  private timerAt = Infinity;
  private stopped = true;
  private needLoad = true;
  private readonly poster: { post: Post; close: () => void };
  private readonly sign: Signer;
  /**
   * Delivered but not yet recorded: written together every few ms (a crash in between only repeats
   * POSTs). Still pending in the store, so a re-read from the start must skip them.
   */
  private delivered = new Set<number>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: DispatcherDeps) {
    this.sign = webhookSigner(deps.hook.format ?? 'relay', deps.hook.secret);
    this.poster = createPoster(deps.hook.url, deps.hook.concurrency);
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  stop(): void {
    this.flush();
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    this.poster.close();
  }

  /** Dead letters were put back in line: read the store again from the start. */
  reload(): void {
    this.loadedUpTo = 0;
    this.wake();
  }

  /**
   * New events were just stored (their deliveries committed with them): take them straight into the
   * lanes when there is room, instead of reading them back; otherwise they wait in the store.
   */
  offer(events: readonly StoredEvent[]): void {
    const now = this.deps.clock.now();
    for (const e of events) {
      if (e.seq <= this.loadedUpTo) continue;
      if (this.needLoad || this.capped || this.known.size >= MAX_LOADED) { this.wake(); return; }
      this.loadedUpTo = e.seq;
      this.known.add(e.seq);
      const row: DeliveryRow = { hook: this.deps.hook.name, event_seq: e.seq, lane: e.lane, state: 'pending', attempts: 0, next_at: now,
        last_error: null, account: e.account, event_id: e.id, prompt: e.prompt, body: e.body };
      const lane = this.lanes.get(e.lane);
      if (lane === undefined) this.lanes.set(e.lane, [row]);
      else lane.push(row);
    }
    this.schedule(0);
  }

  /** New events were stored: load them and send. */
  wake(): void {
    this.needLoad = true;
    this.schedule(0);
  }

  get name(): string {
    return this.deps.hook.name;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = this.deps.clock.now() + ms;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.deps.clock.setTimeout(() => { this.timer = null; this.timerAt = Infinity; this.pump(); }, ms);
  }

  private load(): void {
    this.needLoad = false;
    this.capped = false;
    for (;;) {
      if (this.known.size >= MAX_LOADED) { this.capped = true; return; }
      const rows = this.deps.store.deliveries.pending(this.deps.hook.name, this.loadedUpTo, 1000);
      for (const r of rows) {
        this.loadedUpTo = r.event_seq;
        if (this.known.has(r.event_seq) || this.delivered.has(r.event_seq)) continue;
        this.known.add(r.event_seq);
        const lane = this.lanes.get(r.lane);
        if (lane === undefined) this.lanes.set(r.lane, [r]);
        else lane.push(r);
      }
      if (rows.length < 1000) return;
    }
  }

  private flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.delivered.size === 0) return;
    const seqs = [...this.delivered];
    this.delivered = new Set();
    try {
      this.deps.store.deliveries.markDelivered(this.deps.hook.name, seqs);
    } catch (err) {
      this.deps.logger.error({ hook: this.deps.hook.name, err: (err as Error).message, count: seqs.length }, 'recording webhook deliveries failed; they may be sent again');
    }
  }

  private recordDelivered(seq: number): void {
    this.delivered.add(seq);
    if (this.delivered.size >= 500) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), 20);
  }

  private done(rows: DeliveryRow[] | undefined): void {
    const head = rows?.shift();
    if (head !== undefined) this.known.delete(head.event_seq);
    if (this.capped && this.known.size < MAX_LOADED / 2) this.needLoad = true;
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.needLoad) this.load();
    const now = this.deps.clock.now();
    let next = Infinity;
    for (const [lane, rows] of this.lanes) {
      if (this.busy.size >= this.deps.hook.concurrency) break;
      if (this.busy.has(lane)) continue;
      const head = rows[0];
      if (head === undefined) { this.lanes.delete(lane); continue; }
      if (head.next_at > now) { next = Math.min(next, head.next_at); continue; }
      this.busy.add(lane);
      void this.deliver(lane, head);
    }
    if (next !== Infinity) this.schedule(next - now);
  }

  private async deliver(lane: string, row: DeliveryRow): Promise<void> {
    const { hook, clock, store, metrics, logger } = this.deps;
    const body = webhookPayload(row);
    const ts = Math.floor(clock.now() / 1000);
    let error: string | null = null;
    try {
      const res = await this.poster.post(body, {
        'content-type': 'application/json', 'user-agent': 'imessage-relay-hub/0.1.0',
        'x-relay-event-id': row.event_id, 'x-relay-delivery-attempt': String(row.attempts + 1),
        // The Standard Webhooks id is the event's hub sequence: the same on every attempt and redelivery.
        ...this.sign({ id: `evt_${row.event_seq}`, timestamp: ts, body }),
      }, hook.timeoutMs);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    const rows = this.lanes.get(lane);
    try {
      if (error === null) {
        this.recordDelivered(row.event_seq);
        metrics.inc('webhook_deliveries_total', 1, { hook: hook.name, result: 'delivered' });
        this.done(rows);
      } else {
        const attempts = row.attempts + 1;
        const dead = attempts >= hook.maxAttempts;
        const delay = Math.min(hook.backoffCapMs, hook.backoffBaseMs * 2 ** (attempts - 1));
        store.deliveries.markFailed(hook.name, row.event_seq, error, clock.now() + delay, dead);
        metrics.inc('webhook_deliveries_total', 1, { hook: hook.name, result: dead ? 'dead' : 'retry' });
        logger.warn({ hook: hook.name, id: row.event_id, attempts, error, dead }, dead ? 'webhook delivery parked as a dead letter' : 'webhook delivery failed; will retry');
        if (dead) this.done(rows);
        else if (rows !== undefined) rows[0] = { ...row, attempts, next_at: clock.now() + delay, last_error: error };
      }
    } catch (err) {
      logger.error({ hook: hook.name, err: (err as Error).message }, 'recording a webhook delivery failed; retrying later');
      if (rows !== undefined) rows[0] = { ...row, next_at: clock.now() + 1000 };
    }
    if (rows !== undefined && rows.length === 0) this.lanes.delete(lane);
    this.busy.delete(lane);
    this.pump();
  }
}
