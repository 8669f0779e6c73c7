// `watch.subscribe` / `watch.unsubscribe` (contract §4.3, §4.4, §6): one loop per subscription on the
// hub's row feed (GET /v1/rows, long-poll: woken when a row is stored, no sleep loop), rows emitted
// strictly ascending by id; transient hub outages are ridden out, a lasting or fatal one ends in an
// `error` notification and a non-zero exit (§6.2) so OpenClaw restarts the command and resubscribes.
import { abortableSleep, materialise } from './attachments.js';
import { hubError, HubUnreachable, type HubClient } from './hub-client.js';
import { attachmentRefs, rowidOf, toMessage, type MessageAttachment } from './message-map.js';
import { optBool, optInt } from './params.js';
import { invalidParams } from './rpc-error.js';

type Json = Record<string, unknown>;

export interface WatchDeps {
  readonly hub: HubClient;
  readonly attachmentsRoot: string;
  readonly pollWaitSeconds: number;
  readonly hubDownExitMs: number;
  /** Writes one notification line. */
  readonly notify: (method: string, params: Json) => void;
  /** The stream cannot continue: the `error` line is written; end the process non-zero. */
  readonly fatal: () => void;
}

/** Replay reaches back at most this far (contract §7.1: bound replay, ≤ 2 h). */
const REPLAY_MAX_AGE_MS = 2 * 3600_000;

class Subscription {
  private readonly abort = new AbortController();
  /** The feed's cursor (exclusive); undefined until the live start is known. */
  private cursor: number | undefined;
  /** Highest id emitted on this subscription: nothing at or below it is written again. */
  private emitted = -1;
  private readonly startedAt = Date.now();

  constructor(readonly id: number, private readonly deps: WatchDeps, private readonly opts: { readonly attachments: boolean; readonly reactions: boolean; readonly replay: boolean }, cursor: number | undefined) {
    this.cursor = cursor;
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  stop(): void {
    this.abort.abort();
  }

  /** Fixes the live start (the newest row now) when the hub answers within `timeoutMs`. */
  async resolveLiveStart(timeoutMs: number): Promise<void> {
    try {
      const a = await this.deps.hub.get('/v1/rows', { wait: 0 }, { timeoutMs, signal: this.abort.signal });
      if (a.status === 200 && typeof a.body['next'] === 'number') this.cursor = a.body['next'];
    } catch { /* the loop resolves it once the hub answers */ }
  }

  /** Runs until stopped; a fatal failure writes `error` and calls deps.fatal. */
  async run(): Promise<void> {
    let downSince: number | null = null;
    let backoff = 100;
    while (!this.stopped) {
      let failure: string | null = null;
      let permanent = false;
      try {
        const query = this.cursor === undefined ? { wait: 0 } : { after: this.cursor, wait: this.deps.pollWaitSeconds, limit: 100 };
        const a = await this.deps.hub.get('/v1/rows', query, { timeoutMs: (this.deps.pollWaitSeconds + 15) * 1000, signal: this.abort.signal });
        if (a.status === 200 && Array.isArray(a.body['rows'])) {
          downSince = null;
          backoff = 100;
          await this.deliver(a.body['rows'] as Json[]);
          if (this.stopped) return;
          if (typeof a.body['next'] === 'number') this.cursor = a.body['next'];
          continue;
        }
        const e = hubError(a);
        failure = `the hub's row feed answered ${a.status}${e.code === null ? '' : ` ${e.code}`}${e.message === null ? '' : `: ${e.message}`}`;
        permanent = a.status >= 400 && a.status < 500 && a.status !== 408 && a.status !== 429;
      } catch (err) {
        if (this.stopped) return;
        if (!(err instanceof HubUnreachable)) throw err;
        failure = err.message;
      }
      downSince ??= Date.now();
      if (permanent || Date.now() - downSince >= this.deps.hubDownExitMs) return this.die(failure);
      await abortableSleep(backoff, this.abort.signal);
      backoff = Math.min(backoff * 2, 2000);
    }
  }

  private async deliver(rows: readonly Json[]): Promise<void> {
    for (const row of rows) {
      const id = rowidOf(row);
      if (id === null || id <= this.emitted) continue;
      const kind = row['kind'];
      const stale = this.opts.replay && typeof row['date'] === 'string' && Date.parse(row['date']) < this.startedAt - REPLAY_MAX_AGE_MS;
      const wanted = (kind === 'message' || kind === 'from_me' || (kind === 'reaction' && this.opts.reactions)) && !stale;
      if (wanted) {
        const files: MessageAttachment[] = [];
        if (this.opts.attachments && kind !== 'reaction') {
          for (const ref of attachmentRefs(row)) files.push(await materialise(ref, { hub: this.deps.hub, root: this.deps.attachmentsRoot, pendingWaitMs: 5000, signal: this.abort.signal }));
        }
        if (this.stopped) return;
        this.deps.notify('message', { subscription: this.id, message: toMessage(row, files) });
      }
      this.emitted = id;
      this.cursor = id;
    }
  }

  /** Ends the subscription for good: the `error` line, then the process exits non-zero (§6.2). */
  die(reason: string | null): void {
    if (this.stopped) return;
    const message = `watch stream failed: ${reason ?? 'unknown'}; exiting so that the channel restarts and resubscribes`;
    this.deps.notify('error', { subscription: this.id, message, error: { message } });
    this.stop();
    this.deps.fatal();
  }
}

/** The subscriptions of one `rpc --json` process. */
export class Watches {
  private readonly subs = new Map<number, Subscription>();
  private next = 1;

  constructor(private readonly deps: WatchDeps) {}

  /**
   * watch.subscribe: the `{subscription}` answer once the live start is fixed (or the hub is slow:
   * then later), and `start`, which the caller runs once that answer is written.
   */
  async subscribe(p: Readonly<Json>): Promise<{ result: Json; start: () => void }> {
    const since = optInt(p, 'since_rowid', undefined);
    const cursor = since === undefined || since === 0 ? undefined : since < 0 ? -1 : since;
    const opts = { attachments: optBool(p, 'attachments', false), reactions: optBool(p, 'include_reactions', false), replay: cursor !== undefined };
    const sub = new Subscription(this.next++, this.deps, opts, cursor);
    this.subs.set(sub.id, sub);
    if (cursor === undefined) await sub.resolveLiveStart(3000);
    return { result: { subscription: sub.id }, start: () => { void sub.run().catch((err: unknown) => sub.die(err instanceof Error ? err.message : String(err))); } };
  }

  /** watch.unsubscribe: `{ok:true}`, also for ids unknown or already finished. */
  unsubscribe(p: Readonly<Json>): Json {
    const id = optInt(p, 'subscription', undefined);
    if (id === undefined) throw invalidParams('subscription is required');
    this.subs.get(id)?.stop();
    this.subs.delete(id);
    return { ok: true };
  }

  /** Stops every subscription (stdin ended): no notification is written after this. */
  stopAll(): void {
    for (const s of this.subs.values()) s.stop();
    this.subs.clear();
  }
}
