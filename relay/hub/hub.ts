// The cloud hub (`imessage-relay hub`): the link server for many relays, the durable store, webhook
// dispatchers and the assistant API with /health and /metrics.
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { HubConfig, HubLinkConfig } from '../config/hub-config.js';
import { Metrics } from '../health/metrics.js';
import { close as closeHttp, listen } from '../health/server.js';
import { degraded, down, ok, overall, type ComponentHealth, type HealthReport } from '../health/report.js';
import { DEFAULT_CHANNEL_OPTIONS } from '../link/channel.js';
import { CloseCode } from '../link/close-codes.js';
import { DEFAULT_HANDSHAKE_LIMITS, type HandshakeLimits } from '../link/handshake-limiter.js';
import { parsePublicKey, readKeyFile } from '../link/keys.js';
import { LinkServer } from '../link/server.js';
import { RelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { HubStore } from '../store/hub-store.js';
import { createApiHandler } from './api.js';
import { EventFeed } from './event-feed.js';
import { FileReceiver } from './file-receiver.js';
import { FileVault } from './file-vault.js';
import type { CommandItem } from '../model/wire.js';
import { HubRelaySession } from './relay-session.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { tunnelHealth } from '../tunnel/tunnel-health.js';
import type { TunnelWatchdog } from '../tunnel/watchdog.js';
import { watchTunnel } from '../tunnel/watch-tunnel.js';
import type { WgShow } from '../tunnel/wg.js';
import { DEFAULT_UPKEEP } from '../config/upkeep-config.js';
import { nodeCronSource, Scheduler, type CronSource } from '../scheduler.js';
import { hubUpkeepJobs } from './upkeep.js';

export interface HubDeps {
  readonly config: HubConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Replaces `wg show <interface> dump` (default: runs tunnel.command). */
  readonly wgShow?: WgShow;
  /** Fires the scheduled upkeep jobs (default: node-cron's timers; tests drive a fake clock). */
  readonly cron?: CronSource;
}

/** The link server's handshake limits from the config (defaults where a field is absent). */
function handshakeLimits(link: HubLinkConfig): HandshakeLimits {
  const d = DEFAULT_HANDSHAKE_LIMITS;
  return {
    perAddress: { burst: link.handshakeBurst ?? d.perAddress.burst, perMinute: link.handshakesPerMinutePerAddress ?? d.perAddress.perMinute },
    perKey: { burst: link.handshakeBurst ?? d.perKey.burst, perMinute: link.handshakesPerMinutePerKey ?? d.perKey.perMinute },
  };
}

export class Hub {
  readonly metrics = new Metrics();
  private readonly store: HubStore;
  private readonly server: LinkServer;
  private readonly sessions = new Map<string, HubRelaySession>();
  private readonly dispatchers: WebhookDispatcher[];
  private readonly feed = new EventFeed();
  /** Woken when command results are stored (sends waiting for their row). */
  private readonly results = new EventFeed();
  /** Per account, the highest command seq sent to its relay by this process. */
  private readonly sentUpTo = new Map<string, number>();
  private readonly vault: FileVault;
  private readonly files: FileReceiver;
  private readonly tunnel: TunnelWatchdog | null;
  private readonly upkeep: Scheduler;
  private api: Server | null = null;
  private readonly startedAt: number;
  private stopping = false;
  private backlogCache = { at: 0, value: { pending: 0, dead: 0, oldestMs: null as number | null } };

  constructor(private readonly deps: HubDeps) {
    const { config, logger, clock } = deps;
    this.startedAt = clock.now();
    const keys = readKeyFile(config.keyFile);
    const relays = new Map(config.relays.map((r, i) => [Buffer.from(parsePublicKey(r.publicKey, `relays[${i}].publicKey`)).toString('base64'), r.account]));
    this.store = new HubStore(join(config.dataDir, 'hub.db'), () => clock.now());
    this.vault = new FileVault(join(config.dataDir, 'files'));
    this.files = new FileReceiver(this.vault, config.api.maxFileBytes, logger);
    const m = this.metrics;
    m.counter('events_received_total', 'Events stored from relays, by kind');
    m.counter('duplicates_dropped_total', 'Items a relay resent that the hub already had');
    m.counter('commands_total', 'Commands, by result');
    m.counter('attachments_total', 'Incoming attachments ended, by state (ready, corrupt, missing, too_large, unreadable)');
    m.counter('refused_connections_total', 'Link connections refused (unknown key, bad hello, …)');
    m.counter('link_handshakes_total', 'Link handshakes, by result (answered, proven, unproven, refused, limited)');
    m.counter('items_refused_total', 'Relay items refused one by one (not stored; dead-lettered on the relay), by code');
    m.counter('webhook_deliveries_total', 'Webhook attempts, by hook and result');
    m.gauge('relays_connected', 'Relays with an open link whose key is proven', () => this.sessions.size);
    m.gauge('webhook_backlog', 'Webhook deliveries waiting', () => this.backlog().pending);
    m.gauge('webhook_dead_letters', 'Webhook deliveries parked as dead letters', () => this.backlog().dead);
    this.tunnel = watchTunnel(config.tunnel, { clock, logger, metrics: m, show: deps.wgShow });
    this.dispatchers = config.webhooks.map((hook) => new WebhookDispatcher({ hook, store: this.store, clock, logger, metrics: m }));
    this.upkeep = new Scheduler({
      cron: deps.cron ?? nodeCronSource(logger), clock, logger,
      jobs: hubUpkeepJobs({
        schedules: config.upkeep ?? DEFAULT_UPKEEP, store: this.store, retentionDays: config.retentionDays, clock, logger,
        removeBytes: (f) => (f.direction === 'out' ? this.vault.removeUpload(f.guid) : this.vault.removeIncoming(f.account, f.guid)),
        status: () => ({ relaysConnected: this.sessions.size, health: this.health().status }),
      }),
    });
    const hooks = config.webhooks.map((h) => h.name);
    this.server = new LinkServer({
      host: config.listen.host, port: config.listen.port, keys, relays, clock, logger,
      channel: { ...DEFAULT_CHANNEL_OPTIONS, heartbeatMs: config.link.heartbeatMs, deadAfterMs: config.link.deadAfterMs, maxFrameBytes: config.link.maxFrameBytes },
      limits: handshakeLimits(config.link),
      onRefused: (reason) => m.inc('refused_connections_total', 1, { reason: reason.split(':')[0]! }),
      onHandshake: (result) => m.inc('link_handshakes_total', 1, { result }),
      // A session exists only once the peer has proved its key: a bare hello (public keys are no
      // secret) neither replaces the relay's live session nor counts as connected.
      onProven: (channel, relay) => {
        const session = new HubRelaySession({
          channel, relay, store: this.store, hooks, logger, files: this.files,
          withChunkData: (item) => this.withChunkData(item),
          onEvents: (events, duplicates) => {
            for (const e of events) m.inc('events_received_total', 1, { kind: String(e.event['kind']) });
            if (duplicates > 0) m.inc('duplicates_dropped_total', duplicates);
            if (events.length > 0) {
              for (const d of this.dispatchers) d.offer(events);
              this.feed.notify();
            }
          },
          onResults: (n) => { m.inc('commands_total', n, { result: 'reported' }); this.results.notify(); },
          onCommandsSent: (seq) => { if (seq > (this.sentUpTo.get(relay.account) ?? 0)) this.sentUpTo.set(relay.account, seq); },
          onFiles: (states) => { for (const state of states) m.inc('attachments_total', 1, { state }); },
          maxItemBytes: config.link.maxItemBytes,
          onRefused: (refused) => { for (const r of refused) m.inc('items_refused_total', 1, { code: r.code }); },
          onClose: (s) => { if (this.sessions.get(s.account) === s) this.sessions.delete(s.account); },
        });
        const previous = this.sessions.get(relay.account);
        this.sessions.set(relay.account, session);
        previous?.close(CloseCode.Replaced, 'replaced by a newer connection from the same relay');
        session.start();
      },
    });
  }

  /** A file_chunk command with its bytes, read from the upload as it goes out. */
  private withChunkData(item: CommandItem): CommandItem {
    const data = this.vault.uploadChunk(String(item.body['file_id']), Number(item.body['index'])).toString('base64');
    return { ...item, body: { ...item.body, data } };
  }

  private backlog(): { pending: number; dead: number; oldestMs: number | null } {
    const now = this.deps.clock.now();
    if (now - this.backlogCache.at > 1000) this.backlogCache = { at: now, value: this.store.deliveries.backlog() };
    return this.backlogCache.value;
  }

  health(): HealthReport {
    const now = this.deps.clock.now();
    const accounts = this.deps.config.relays.map((r) => r.account);
    const connected = accounts.filter((a) => this.sessions.has(a));
    const relays: ComponentHealth = connected.length === accounts.length
      ? ok({ connected, configured: accounts.length })
      : degraded(`${accounts.length - connected.length} of ${accounts.length} relays not connected`, { connected, missing: accounts.filter((a) => !this.sessions.has(a)) });
    const b = this.backlog();
    const webhooks: ComponentHealth = this.dispatchers.length === 0 ? ok({ configured: 0 })
      : b.dead > 0 ? degraded(`${b.dead} webhook deliveries in the dead-letter list`, { backlog: b.pending, dead_letters: b.dead })
        : b.oldestMs !== null && b.oldestMs > 60_000 ? degraded(`webhook backlog of ${b.pending}, oldest ${Math.round(b.oldestMs / 1000)} s`, { backlog: b.pending, dead_letters: 0 })
          : ok({ backlog: b.pending, dead_letters: 0 });
    const components: Record<string, ComponentHealth> = { relays, webhooks };
    if (this.tunnel !== null) components['tunnel'] = tunnelHealth(this.deps.config.tunnel.interface!, this.tunnel.status);
    if (this.stopping) components['process'] = down('shutting down');
    return { status: overall(components), role: 'hub', checked_at: new Date(now).toISOString(), uptime_s: Math.round((now - this.startedAt) / 1000), components };
  }

  /** Starts listening; resolves with the link and API ports. */
  async start(): Promise<{ linkPort: number; apiPort: number }> {
    const { config, logger } = this.deps;
    await this.upkeep.run('prune');
    const linkPort = await this.server.listen();
    const handler = createApiHandler({
      token: config.api.token, store: this.store, accounts: config.relays.map((r) => r.account), feed: this.feed,
      vault: this.vault, maxFileBytes: config.api.maxFileBytes, maxItemBytes: config.link.maxItemBytes, logger,
      health: { report: () => this.health(), metrics: this.metrics },
      onCommand: (account) => { this.metrics.inc('commands_total', 1, { result: 'queued' }); this.sessions.get(account)?.sendCommands(); },
      onRevive: (hook) => this.dispatchers.find((d) => d.name === hook)?.reload(),
      relays: {
        connected: (account) => this.sessions.has(account),
        query: (account, q, params, timeoutMs) => {
          const session = this.sessions.get(account);
          return session === undefined ? Promise.reject(new RelayError('RELAY_OFFLINE', `the relay of ${account} is not connected`)) : session.query(q, params, timeoutMs);
        },
        sentUpTo: (account) => this.sentUpTo.get(account) ?? 0,
      },
      results: this.results,
    });
    this.api = createServer(handler);
    const apiPort = await listen(this.api, config.api.host, config.api.port, 'API');
    for (const d of this.dispatchers) d.start();
    this.tunnel?.start();
    this.upkeep.start();
    logger.info({ link: `${config.listen.host}:${linkPort}`, api: `${config.api.host}:${apiPort}`, relays: config.relays.length, webhooks: this.dispatchers.length }, 'hub started');
    return { linkPort, apiPort };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.upkeep.stop();
    for (const d of this.dispatchers) d.stop();
    this.tunnel?.stop();
    this.feed.close();
    this.results.close();
    await this.server.close();
    await closeHttp(this.api);
    this.store.close();
    this.deps.logger.info('hub stopped');
  }
}
