// The Mac's conversation with the hub over one sealed channel: say hello, resend everything the
// hub has not acknowledged (in order, within a window), store commands in the inbox and ack them.
// An item the hub refuses becomes a dead letter; a command too large is refused here, one by one.
import { asRelayError, RelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SealedChannel } from '../link/channel.js';
import { CloseCode } from '../link/close-codes.js';
import { encodeItems, type LinkMessage } from '../link/codec.js';
import { PROTOCOL_VERSION } from '../link/handshake.js';
import { bytesOver, DEFAULT_MAX_ITEM_BYTES, tooLarge, type CommandItem, type ItemRefusal } from '../model/wire.js';
import type { MacStore, RawOutboxItem } from '../store/mac-store.js';

/** Bytes of item bodies per `items` message (attachment chunks are ~350 KB each). */
const FRAME_BUDGET = 1024 * 1024;

export interface MacSessionOptions {
  /** At most this many items sent and not yet acknowledged (default 5000). */
  readonly window: number;
  /** Items per frame (default 500). */
  readonly batch: number;
  /** A command whose body (JSON, UTF-8) is larger is refused: it ends `failed` with ITEM_TOO_LARGE (default 4 MiB). */
  readonly maxItemBytes?: number;
}

export interface MacSessionDeps {
  readonly channel: SealedChannel;
  readonly store: MacStore;
  readonly logger: Logger;
  readonly agent: string;
  readonly options: MacSessionOptions;
  /** The hub welcomed us: the link is up. */
  readonly onReady: (account: string) => void;
  readonly onAcked?: (count: number) => void;
  readonly onSent?: (count: number) => void;
  readonly onCommands?: (stored: number) => void;
  /** An outbox chunk item as it goes on the wire (its bytes read from the file now). */
  readonly expandChunk?: (item: RawOutboxItem) => RawOutboxItem;
  /** Commands arrived, before they are stored: file chunks are staged here (a throw drops the link; they come again). */
  readonly beforeCommands?: (items: readonly CommandItem[]) => void;
  /** The sender may take the first new command at once (its probe ROWID), marked `sending` as it is stored. */
  readonly beginSend?: (commandId: string, body: Record<string, unknown>) => number | null;
  /**
   * Answers the hub's read-only queries (PROTOCOL.md §4.3); a throw is answered as an error (its
   * RelayError code). Without it the relay does not announce `query` in its hello.
   */
  readonly onQuery?: (q: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

export class MacLinkSession {
  private ready = false;
  private sentUpTo = 0;
  private acked = 0;

  constructor(private readonly deps: MacSessionDeps) {}

  start(): void {
    const { channel, store } = this.deps;
    channel.attach({ message: (m) => this.onMessage(m), close: () => { this.ready = false; } });
    channel.send({ t: 'hello', v: PROTOCOL_VERSION, agent: this.deps.agent, store: store.storeId(), cmd_acked: Number(store.cursor('hub_cmd_seq') ?? 0),
      ...(this.deps.onQuery === undefined ? {} : { caps: ['query'] }) });
  }

  get isReady(): boolean {
    return this.ready && this.deps.channel.isOpen;
  }

  /** New items are in the outbox: send what the window allows. */
  pump(): void {
    if (!this.isReady) return;
    const { window, batch } = this.deps.options;
    while (this.sentUpTo - this.acked < window && this.deps.channel.buffered < 8 * 1024 * 1024) {
      const rows = this.deps.store.pendingRaw(this.sentUpTo, Math.min(batch, window - (this.sentUpTo - this.acked)));
      if (rows.length === 0) return;
      const items: RawOutboxItem[] = [];
      let size = 0;
      for (const row of rows) {
        const item = row.type === 'chunk' && this.deps.expandChunk !== undefined ? this.deps.expandChunk(row) : row;
        items.push(item);
        size += item.body.length;
        if (size >= FRAME_BUDGET) break;
      }
      this.deps.channel.sendEncoded(encodeItems(items));
      this.sentUpTo = items[items.length - 1]!.seq;
      this.deps.onSent?.(items.length);
    }
  }

  /** New commands too large to keep, by seq, with why (logged here; each ends `failed`). */
  private refuse(items: readonly CommandItem[]): Map<number, Omit<ItemRefusal, 'seq'>> {
    const limit = this.deps.options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
    const after = this.deps.store.commandSeq();
    const refused = new Map<number, Omit<ItemRefusal, 'seq'>>();
    for (const c of items) {
      if (c.seq <= after) continue;
      const bytes = bytesOver(JSON.stringify(c.body), limit);
      if (bytes === null) continue;
      const kind = typeof c.body['kind'] === 'string' ? c.body['kind'].slice(0, 40) : 'unknown';
      refused.set(c.seq, tooLarge(`a ${kind} command`, bytes, limit, 'relay'));
      this.deps.logger.warn({ seq: c.seq, kind, bytes, limit }, 'command refused: too large');
    }
    return refused;
  }

  /** Runs a query and sends its one answer; an answer over the item limit becomes an error answer. */
  private answer(id: number, q: string, params: Record<string, unknown>): void {
    const { channel, logger } = this.deps;
    const limit = this.deps.options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
    const run = this.deps.onQuery === undefined
      ? Promise.reject(new RelayError('UNKNOWN_QUERY', `this relay answers no queries (asked ${q.slice(0, 40)})`))
      : this.deps.onQuery(q, params);
    run.then((result) => {
      const bytes = bytesOver(JSON.stringify(result), limit);
      if (bytes === null) return { t: 'answer' as const, id, result };
      return { t: 'answer' as const, id, error: { code: 'ANSWER_TOO_LARGE', message: `the answer of ${bytes} bytes is over the relay's limit of ${limit} bytes (link.maxItemBytes)` } };
    }, (err: unknown) => {
      const e = asRelayError(err, 'QUERY_FAILED');
      logger.warn({ q: q.slice(0, 40), code: e.code }, `query failed: ${e.message}`);
      return { t: 'answer' as const, id, error: { code: e.code, message: e.message } };
    }).then((a) => { if (channel.isOpen) channel.send(a); }, () => undefined);
  }

  private onMessage(m: LinkMessage): void {
    try {
      switch (m.t) {
        case 'welcome': {
          // Everything after what the hub holds is resent, in order, from here.
          this.acked = m.acked;
          this.sentUpTo = m.acked;
          this.deps.store.ack(m.acked);
          this.ready = true;
          this.deps.onReady(m.account);
          this.pump();
          return;
        }
        case 'ack': {
          if (!this.ready) break;
          const newly = Math.max(0, m.seq - this.acked);
          this.acked = Math.max(this.acked, m.seq);
          // Refused items are dead letters (the store tells who needs to know); the rest is acked.
          this.deps.store.ack(m.seq, m.refused ?? []);
          this.deps.onAcked?.(Math.max(0, newly - (m.refused?.length ?? 0)));
          this.pump();
          return;
        }
        case 'commands': {
          if (!this.ready) break;
          const refused = this.refuse(m.items);
          this.deps.beforeCommands?.(refused.size === 0 ? m.items : m.items.filter((c) => !refused.has(c.seq)));
          const { stored, lastSeq } = this.deps.store.receiveCommands(m.items, this.deps.beginSend, refused);
          this.deps.channel.send({ t: 'cmd_ack', seq: lastSeq });
          this.deps.onCommands?.(stored);
          return;
        }
        case 'bye':
          this.deps.logger.info({ reason: m.reason }, 'hub said goodbye');
          return;
        case 'query':
          if (!this.ready) break;
          this.answer(m.id, m.q, m.params);
          return;
        default:
          break;
      }
      this.deps.channel.close(CloseCode.Protocol, `unexpected ${m.t} from the hub`);
    } catch (err) {
      // A store failure (disk full): drop the link; everything unacknowledged is resent later.
      this.deps.logger.error({ err: (err as Error).message }, 'link session failed; reconnecting');
      this.deps.channel.close(CloseCode.GoingAway, 'relay store failure');
    }
  }
}
