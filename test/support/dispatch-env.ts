// The hub's webhook side in-process for tests: a real hub store (SQLite in a temp dir) and real
// dispatchers POSTing over loopback, fed by ingesting message events for given chats.
import { join } from 'node:path';
import type { WebhookConfig } from '../../relay/config/hub-config.js';
import { Metrics } from '../../relay/health/metrics.js';
import { WebhookDispatcher } from '../../relay/hub/webhook-dispatcher.js';
import { silentLogger } from '../../relay/logger.js';
import { systemClock, type Clock } from '../../relay/clock.js';
import { HubStore } from '../../relay/store/hub-store.js';
import { tempDir } from './chatdb-env.js';

/** A webhook's settings with test defaults: quick backoff, two attempts, a 2 s deadline. */
export function testHook(name: string, url: string, secret: string, extra: Partial<WebhookConfig> = {}): WebhookConfig {
  return { name, url, secret, maxAttempts: 2, backoffBaseMs: 50, backoffCapMs: 100, timeoutMs: 2000, concurrency: 8, ...extra };
}

export class DispatchEnv {
  readonly store: HubStore;
  readonly dispatchers: WebhookDispatcher[];
  private readonly cleanup: () => void;
  private seq = 0;

  /** `clock` drives the store and the dispatchers (signature timestamps among them). */
  constructor(private readonly hooks: readonly WebhookConfig[], clock: Clock = systemClock) {
    const t = tempDir('imr-dispatch-');
    this.cleanup = t.cleanup;
    this.store = new HubStore(join(t.dir, 'hub.db'), () => clock.now());
    this.store.events.relay('alice', 'KEY', 'store-1');
    const metrics = new Metrics();
    metrics.counter('webhook_deliveries_total', 'attempts', ['hook', 'result']);
    this.dispatchers = hooks.map((hook) => new WebhookDispatcher({ hook, store: this.store, clock, logger: silentLogger(), metrics }));
    for (const d of this.dispatchers) d.start();
  }

  /** Stores one incoming message per guid in the chat with `handle` and hands them to every dispatcher. */
  ingest(handle: string, guids: readonly string[], text = (guid: string): string => `text ${guid}`): void {
    const chat = { guid: `iMessage;-;${handle}`, identifier: handle, name: null, is_group: false, participants: [handle] };
    const items = guids.map((guid) => ({ seq: ++this.seq, type: 'event' as const, id: `message:${guid}`,
      body: { kind: 'message', guid, chat, sender: handle, service: 'iMessage', date: '2026-01-01T00:00:00.000Z', text: text(guid), attachments: [], backlog: false } }));
    const r = this.store.events.ingest('alice', items, this.hooks.map((h) => h.name));
    for (const d of this.dispatchers) d.offer(r.inserted);
  }

  close(): void {
    for (const d of this.dispatchers) d.stop();
    this.store.close();
    this.cleanup();
  }
}
