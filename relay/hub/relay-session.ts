// The hub's conversation with one relay: wait for its hello, welcome it with what the hub already
// holds, store its items durably before acknowledging them, and send it its queued commands. An item
// (or a command) too large is refused on its own, never by closing the link.
import { RelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SealedChannel } from '../link/channel.js';
import { CloseCode } from '../link/close-codes.js';
import type { LinkMessage } from '../link/codec.js';
import { PROTOCOL_VERSION } from '../link/handshake.js';
import type { RelayIdentity } from '../link/server.js';
import type { HubStore } from '../store/hub-store.js';
import type { StoredEvent } from '../store/hub-events.js';
import { bytesOver, DEFAULT_MAX_ITEM_BYTES, tooLarge, type CommandItem, type ItemRefusal, type OutboxItem } from '../model/wire.js';
import type { FileReceiver } from './file-receiver.js';
import { RelayQueries } from './relay-queries.js';

/** Bytes of command items per `commands` message, and how much may wait in the socket's buffer. */
const FRAME_BUDGET = 1024 * 1024;
const BUFFER_LIMIT = 4 * 1024 * 1024;

export interface HubSessionDeps {
  readonly channel: SealedChannel;
  readonly relay: RelayIdentity;
  readonly store: HubStore;
  readonly hooks: readonly string[];
  readonly logger: Logger;
  readonly files: FileReceiver;
  /** Adds the bytes to a `file_chunk` command (read from the upload when it is sent, never stored twice). */
  readonly withChunkData: (item: CommandItem) => CommandItem;
  readonly onEvents: (events: readonly StoredEvent[], duplicates: number) => void;
  readonly onResults?: (count: number) => void;
  /** Incoming attachments ended (ready, corrupt, missing, …). */
  readonly onFiles?: (states: readonly string[]) => void;
  /** Largest item (body as JSON, UTF-8) accepted from the relay or sent to it (default 4 MiB, `link.maxItemBytes`). */
  readonly maxItemBytes?: number;
  /** Items refused (not stored; the relay dead-letters them). */
  readonly onRefused?: (refused: readonly ItemRefusal[]) => void;
  readonly onClose: (session: HubRelaySession) => void;
  /** Commands up to this seq went out on the link (a command above the highest never left the hub). */
  readonly onCommandsSent?: (lastSeq: number) => void;
}

export class HubRelaySession {
  private welcomed = false;
  private cmdSent = 0;
  private caps: ReadonlySet<string> = new Set();
  private readonly queries: RelayQueries;

  constructor(private readonly deps: HubSessionDeps) {
    this.queries = new RelayQueries((m) => deps.channel.send(m));
  }

  /** The highest command seq sent to the relay on this connection (a command above it certainly never left the hub). */
  get commandsSent(): number {
    return this.cmdSent;
  }

  /** True when the relay said in its hello that it understands `cap` (e.g. `query`). */
  supports(cap: string): boolean {
    return this.welcomed && this.caps.has(cap);
  }

  /**
   * Asks the relay a read-only question over the link (PROTOCOL.md §4.3).
   * @throws RelayError QUERY_UNSUPPORTED (an older relay: nothing is sent), QUERY_TIMEOUT, QUERY_FAILED, RELAY_OFFLINE
   */
  query(q: string, params: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    if (!this.supports('query')) return Promise.reject(new RelayError('QUERY_UNSUPPORTED', 'this relay does not answer queries (an older version)'));
    return this.queries.ask(q, params, timeoutMs);
  }

  get account(): string {
    return this.deps.relay.account;
  }

  start(): void {
    this.deps.channel.attach({
      message: (m) => this.onMessage(m),
      close: (code, why) => {
        this.queries.closeAll();
        this.deps.logger.info({ account: this.account, code, why }, 'relay disconnected');
        this.deps.onClose(this);
      },
    });
  }

  close(code: number, why: string): void {
    this.deps.channel.close(code, why);
  }

  /**
   * Sends queued commands the relay has not been sent on this connection, about 1 MiB per message;
   * stops while the socket holds more than 4 MiB (file chunks) and goes on at the relay's next cmd_ack.
   */
  sendCommands(): void {
    const { channel } = this.deps;
    const limit = this.limit;
    while (this.welcomed && channel.isOpen && channel.buffered < BUFFER_LIMIT) {
      const items = this.deps.store.commands.forRelay(this.account, this.cmdSent, 100);
      if (items.length === 0) return;
      const batch: CommandItem[] = [];
      let size = 0;
      for (const raw of items) {
        const item = raw.body['kind'] === 'file_chunk' ? this.deps.withChunkData(raw) : raw;
        this.cmdSent = item.seq;
        const json = JSON.stringify(item.body);
        const bytes = bytesOver(json, limit);
        if (bytes !== null) {
          // Never sent (it could not be carried): it ends failed here, and the rest goes on.
          const why = tooLarge('the command', bytes, limit, 'hub');
          this.deps.store.commands.fail(item.id, `${why.code}: ${why.message}`);
          this.deps.logger.warn({ account: this.account, seq: item.seq, bytes, limit }, 'command too large to send: failed');
          continue;
        }
        size += json.length;
        batch.push(item);
        if (size >= FRAME_BUDGET) break;
      }
      if (batch.length > 0) {
        channel.send({ t: 'commands', items: batch });
        this.deps.onCommandsSent?.(batch[batch.length - 1]!.seq);
      }
    }
  }

  private get limit(): number {
    return this.deps.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
  }

  /** New items (above `acked`) too large to take, each with why; the JSON of the others, by seq, to store. */
  private refuse(items: readonly OutboxItem[], acked: number): { refused: ItemRefusal[]; json: Map<number, string> } {
    const limit = this.limit;
    const refused: ItemRefusal[] = [];
    const json = new Map<number, string>();
    for (const it of items) {
      if (it.seq <= acked) continue;
      const text = JSON.stringify(it.body);
      const bytes = bytesOver(text, limit);
      if (bytes === null) {
        json.set(it.seq, text);
        continue;
      }
      refused.push({ seq: it.seq, ...tooLarge(`${it.type} item`, bytes, limit, 'hub') });
      this.deps.logger.warn({ account: this.account, seq: it.seq, type: it.type, id: it.id.slice(0, 200), bytes, limit }, 'relay item refused: too large');
    }
    return { refused, json };
  }

  private onMessage(m: LinkMessage): void {
    const { channel, store, relay } = this.deps;
    try {
      if (!this.welcomed) {
        if (m.t !== 'hello' || m.v !== PROTOCOL_VERSION) {
          channel.close(CloseCode.Protocol, m.t === 'hello' ? `protocol ${m.v} not supported` : 'expected hello');
          return;
        }
        const state = store.events.relay(relay.account, Buffer.from(relay.publicKey).toString('base64'), m.store);
        this.welcomed = true;
        this.caps = new Set(m.caps ?? []);
        this.cmdSent = m.cmd_acked;
        channel.send({ t: 'welcome', v: PROTOCOL_VERSION, acked: state.acked, account: relay.account });
        this.deps.logger.info({ account: relay.account, fingerprint: relay.fingerprint, acked: state.acked, agent: m.agent }, 'relay connected');
        this.sendCommands();
        return;
      }
      switch (m.t) {
        case 'items': {
          const acked = store.events.acked(relay.account);
          const { refused, json } = this.refuse(m.items, acked);
          const skip = new Set(refused.map((r) => r.seq));
          const items = skip.size === 0 ? m.items : m.items.filter((it) => !skip.has(it.seq));
          const files = this.deps.files.receive(relay.account, items, acked);
          const result = store.events.ingest(relay.account, items, this.deps.hooks, files, { refusedUpTo: refused.at(-1)?.seq ?? 0, json });
          channel.send(refused.length === 0 ? { t: 'ack', seq: result.acked } : { t: 'ack', seq: result.acked, refused });
          if (refused.length > 0) this.deps.onRefused?.(refused);
          if (result.inserted.length > 0 || result.duplicates > 0) this.deps.onEvents(result.inserted, result.duplicates);
          if (result.results > 0) this.deps.onResults?.(result.results);
          if (files.size > 0) this.deps.onFiles?.([...files.values()].map((f) => f.state));
          return;
        }
        case 'cmd_ack':
          store.commands.ack(relay.account, m.seq);
          this.sendCommands();
          return;
        case 'answer':
          this.queries.answer(m);
          return;
        case 'bye':
          return;
        default:
          channel.close(CloseCode.Protocol, `unexpected ${m.t} from a relay`);
      }
    } catch (err) {
      // Not stored, so not acknowledged: the relay resends after it reconnects.
      this.deps.logger.error({ account: relay.account, err: (err as Error).message }, 'storing relay items failed');
      channel.close(CloseCode.GoingAway, 'hub store failure');
    }
  }
}
