// The hub's conversation with one relay: wait for its hello, welcome it with what the hub already
// holds, store its items durably before acknowledging them, and send it its queued commands.
import type { Logger } from '../logger.js';
import type { SealedChannel } from '../link/channel.js';
import { CloseCode } from '../link/close-codes.js';
import type { LinkMessage } from '../link/codec.js';
import { PROTOCOL_VERSION } from '../link/handshake.js';
import type { RelayIdentity } from '../link/server.js';
import type { HubStore } from '../store/hub-store.js';
import type { StoredEvent } from '../store/hub-events.js';
import type { CommandItem } from '../model/wire.js';
import type { FileReceiver } from './file-receiver.js';

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
  readonly onClose: (session: HubRelaySession) => void;
}

export class HubRelaySession {
  private welcomed = false;
  private cmdSent = 0;

  constructor(private readonly deps: HubSessionDeps) {}

  get account(): string {
    return this.deps.relay.account;
  }

  start(): void {
    this.deps.channel.attach({
      message: (m) => this.onMessage(m),
      close: (code, why) => {
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
    while (this.welcomed && channel.isOpen && channel.buffered < BUFFER_LIMIT) {
      const items = this.deps.store.commands.forRelay(this.account, this.cmdSent, 100);
      if (items.length === 0) return;
      const batch: CommandItem[] = [];
      let size = 0;
      for (const raw of items) {
        const item = raw.body['kind'] === 'file_chunk' ? this.deps.withChunkData(raw) : raw;
        size += typeof item.body['data'] === 'string' ? item.body['data'].length : 200;
        batch.push(item);
        if (size >= FRAME_BUDGET) break;
      }
      channel.send({ t: 'commands', items: batch });
      this.cmdSent = batch[batch.length - 1]!.seq;
    }
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
        this.cmdSent = m.cmd_acked;
        channel.send({ t: 'welcome', v: PROTOCOL_VERSION, acked: state.acked, account: relay.account });
        this.deps.logger.info({ account: relay.account, fingerprint: relay.fingerprint, acked: state.acked, agent: m.agent }, 'relay connected');
        this.sendCommands();
        return;
      }
      switch (m.t) {
        case 'items': {
          const files = this.deps.files.receive(relay.account, m.items, store.events.acked(relay.account));
          const result = store.events.ingest(relay.account, m.items, this.deps.hooks, files);
          channel.send({ t: 'ack', seq: result.acked });
          if (result.inserted.length > 0 || result.duplicates > 0) this.deps.onEvents(result.inserted, result.duplicates);
          if (result.results > 0) this.deps.onResults?.(result.results);
          if (files.size > 0) this.deps.onFiles?.([...files.values()].map((f) => f.state));
          return;
        }
        case 'cmd_ack':
          store.commands.ack(relay.account, m.seq);
          this.sendCommands();
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
