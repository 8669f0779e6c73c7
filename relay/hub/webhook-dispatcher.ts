// Delivers stored events to one webhook URL: signed POSTs, one lane per chat so a chat's events
// arrive in order while chats go in parallel, retries with exponential backoff, then dead letters.
// At-least-once: the delivery is marked only after the receiver answered 2xx.
import type { Clock } from '../clock.js';
import type { WebhookConfig } from '../config/hub-config.js';
import type { Metrics } from '../health/metrics.js';
import type { Logger } from '../logger.js';
import type { DeliveryRow } from '../store/hub-deliveries.js';
import type { HubStore } from '../store/hub-store.js';
import { sign } from './webhook-signature.js';

export interface DispatcherDeps {
  readonly hook: WebhookConfig;
  readonly store: HubStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly fetch?: typeof fetch;
}

/** The JSON a receiver gets: the event with its stable id, the hub's sequence and the relay account. */
export function webhookPayload(row: Pick<DeliveryRow, 'event_id' | 'event_seq' | 'account' | 'body'>): string {
  const event = JSON.parse(row.body) as { kind?: string; backlog?: boolean };
  return JSON.stringify({ id: row.event_id, seq: row.event_seq, account: row.account, prompt: event.kind === 'message' && event.backlog !== true, event });
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

  constructor(private readonly deps: DispatcherDeps) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Dead letters were put back in line: read the store again from the start. */
  reload(): void {
    this.loadedUpTo = 0;
    this.wake();
  }

  /** New events were stored: load them and send. */
  wake(): void {
    this.needLoad = true;
    this.schedule(0);
  }

  get name(): string {
    return this.deps.hook.name;
  }

  get inFlight(): number {
    return this.busy.size;
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
        if (this.known.has(r.event_seq)) continue;
        this.known.add(r.event_seq);
        const lane = this.lanes.get(r.lane);
        if (lane === undefined) this.lanes.set(r.lane, [r]);
        else lane.push(r);
      }
      if (rows.length < 1000) return;
    }
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
      const res = await (this.deps.fetch ?? fetch)(hook.url, {
        method: 'POST', body, signal: AbortSignal.timeout(hook.timeoutMs),
        headers: {
          'content-type': 'application/json', 'user-agent': 'imessage-relay-hub/0.1.0',
          'x-relay-event-id': row.event_id, 'x-relay-timestamp': String(ts),
          'x-relay-signature': sign(hook.secret, ts, body), 'x-relay-delivery-attempt': String(row.attempts + 1),
        },
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `timed out after ${hook.timeoutMs} ms` : (err as Error).message;
    }
    const rows = this.lanes.get(lane);
    try {
      if (error === null) {
        store.deliveries.markDelivered(hook.name, row.event_seq);
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
