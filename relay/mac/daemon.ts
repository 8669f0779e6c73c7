// The Mac daemon (`imessage-relay run`): chat.db reader → outbox (one transaction with the cursor)
// → link to the hub; commands from the hub → inbox. Plus /health, /metrics and logs.
import { createServer, type Server } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Clock } from '../clock.js';
import { ChatDbReader } from '../chatdb/reader.js';
import { parseState } from '../chatdb/reader-state.js';
import { ChatDbWatcher } from '../chatdb/watcher.js';
import type { MacConfig } from '../config/mac-config.js';
import { close as closeHttp, listen, serveHealth } from '../health/server.js';
import type { HealthReport } from '../health/report.js';
import type { Metrics } from '../health/metrics.js';
import { DEFAULT_CHANNEL_OPTIONS } from '../link/channel.js';
import { LinkClient } from '../link/client.js';
import { parsePublicKey, readKeyFile } from '../link/keys.js';
import { RelayError } from '../errors.js';
import { handleAnonymiser, loadLogSecret, type HandleAnonymiser, type Logger } from '../logger.js';
import { eventId } from '../model/event-id.js';
import type { RelayEvent } from '../model/events.js';
import { MacStore } from '../store/mac-store.js';
import { macHealth } from './mac-health.js';
import { macMetrics } from './mac-metrics.js';
import { MacLinkSession } from './link-session.js';
import { SentRows } from '../chatdb/sent-rows.js';
import { ChatHistory } from '../chatdb/history.js';
import { macQueryHandler } from './queries.js';
import { runScript, type ScriptName } from '../messages-app/osascript.js';
import { Sender } from '../messages-app/sender.js';
import { AttachmentStaging } from '../messages-app/staging.js';
import { DEFAULT_MAX_ITEM_BYTES, type CommandItem } from '../model/wire.js';
import { AttachmentUploader, chunkOnWire } from './attachment-uploader.js';
import { AttachmentRoots } from './attachment-paths.js';
import { tunnelHealth } from '../tunnel/tunnel-health.js';
import type { TunnelWatchdog } from '../tunnel/watchdog.js';
import { watchTunnel } from '../tunnel/watch-tunnel.js';
import type { WgShow } from '../tunnel/wg.js';
import { DEFAULT_MAC_UPKEEP } from '../config/upkeep-config.js';
import { nodeCronSource, Scheduler, type CronSource } from '../scheduler.js';
import { macUpkeepJobs } from './upkeep.js';

export const AGENT = 'imessage-relay/0.1.0';

export interface MacDaemonDeps {
  readonly config: MacConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Replaces osascript (the benchmark's zero-cost Messages); default runs our JXA files with osascript. */
  readonly runScript?: (name: ScriptName, args: Record<string, string>) => Promise<Record<string, unknown>>;
  /** What `~/` in chat.db's attachment paths stands for (default: this user's home). */
  readonly homeDir?: string;
  /** Replaces `wg show <interface> dump` (default: runs tunnel.command). */
  readonly wgShow?: WgShow;
  /** Fires the scheduled upkeep jobs (default: node-cron's timers; tests drive a fake clock). */
  readonly cron?: CronSource;
}

export class MacDaemon {
  readonly metrics: Metrics;
  private readonly store: MacStore;
  private readonly reader: ChatDbReader;
  private readonly watcher: ChatDbWatcher;
  private readonly link: LinkClient;
  private session: MacLinkSession | null = null;
  private readonly sender: Sender | null;
  private readonly sentRows: SentRows;
  private readonly history: ChatHistory;
  private readonly staging: AttachmentStaging;
  private readonly uploader: AttachmentUploader | null;
  private readonly roots: AttachmentRoots;
  private readonly tunnel: TunnelWatchdog | null;
  private readonly upkeep: Scheduler;
  private automationDenied = false;
  private http: Server | null = null;
  private readonly startedAt: number;
  private stopping = false;
  private linkState = { up: false, since: 0, reason: 'not connected yet' as string | null, account: null as string | null, failures: 0 };
  private lastInboundAt: number | null = null;
  private lastEventAt: number | null = null;
  private depthCache = { at: 0, value: { count: 0, oldestAgeMs: null as number | null } };
  /** Handles in logs: shortened, tagged with a hash keyed by `<dataDir>/log.secret`. */
  private readonly anon: HandleAnonymiser;
  private deadCache: { at: number; value: ReturnType<MacStore['deadLetters']> } = { at: 0, value: { count: 0, last: null } };

  constructor(private readonly deps: MacDaemonDeps) {
    const { config, logger, clock } = deps;
    this.startedAt = clock.now();
    this.linkState.since = this.startedAt;
    const keys = readKeyFile(config.keyFile);
    const hubKey = parsePublicKey(config.hubPublicKey, 'hub.publicKey');
    this.anon = handleAnonymiser(loadLogSecret(config.dataDir), config.log.logContent);
    this.store = new MacStore(join(config.dataDir, 'relay.db'), () => clock.now());
    this.store = new MacStore(join(config.dataDir, 'relay.db'), () => clock.now(), {
      maxItemBytes: config.link.maxItemBytes,
      onDeadLetter: (d) => {
        this.metrics.inc('outbox_dead_letters_total', 1, { code: d.code });
        this.deadCache.at = 0;
        logger.error({ seq: d.seq, type: d.type, id: d.id, code: d.code }, `outbox item dead-lettered: ${d.message}`);
      },
    });
    this.metrics = macMetrics({
      outboxDepth: () => this.depth().count,
      outboxDeadLetters: () => this.deadLetters().count,
      linkUp: () => (this.linkState.up ? 1 : 0),
      lastEventAgeSeconds: () => (this.lastEventAt === null ? -1 : Math.round((clock.now() - this.lastEventAt) / 1000)),
    });
    this.tunnel = watchTunnel(config.tunnel, { clock, logger, metrics: this.metrics, show: deps.wgShow });
    const saved = parseState(this.store.cursor('chatdb'));
    this.reader = new ChatDbReader({
      path: config.chatDb, clock, logger, homeDir: deps.homeDir ?? homedir(), state: saved, startAfter: 'end',
      options: { settleMs: config.reader.settleMs, ageFenceMs: config.reader.ageFenceMinutes * 60_000 },
      commit: (events, state) => this.commit(events, state),
    });
    this.watcher = new ChatDbWatcher({
      path: config.chatDb, poll: () => this.reader.poll(), clock, logger,
      options: { pollIntervalMs: config.reader.pollIntervalMs },
      onPoll: (o) => { if (!o.ok) this.metrics.inc('chatdb_errors_total', 1, { code: o.error.code }); },
    });
    this.sentRows = new SentRows(config.chatDb);
    this.history = new ChatHistory({ path: config.chatDb, homeDir: deps.homeDir ?? homedir(), clock });
    const onQuery = macQueryHandler(this.history, config.link.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES);
    const a = config.attachments;
    this.staging = new AttachmentStaging(a.stagingDir, a.maxBytes);
    this.roots = new AttachmentRoots(a.roots ?? [dirname(config.chatDb)]);
    this.uploader = !a.upload ? null : new AttachmentUploader({
      store: this.store, clock, logger, roots: this.roots, options: { maxBytes: a.maxBytes, waitMs: a.waitSeconds * 1000, lookEveryMs: 1000 },
      onQueued: (status) => { this.metrics.inc('attachments_total', 1, { status }); this.depthCache.at = 0; this.session?.pump(); },
    });
    const s = config.sender;
    const run = deps.runScript ?? ((name: ScriptName, args: Record<string, string>) => runScript(name, args, { osascript: s.osascript, timeoutMs: s.timeoutMs }));
    this.sender = !s.enabled ? null : new Sender({
      store: this.store, rows: this.sentRows, clock, logger, staging: this.staging,
      run,
      options: { perSecond: s.perSecond, perChatPerSecond: s.perChatPerSecond, confirmMs: s.confirmMs, followMs: s.followMs },
      // Results go to the hub right after, not before, the osascript they describe has started.
      onResult: () => { this.depthCache.at = 0; setImmediate(() => this.session?.pump()); },
      onAutomation: (denied) => {
        if (denied && !this.automationDenied) logger.error('Messages refused Apple events: allow this program in System Settings → Privacy & Security → Automation');
        this.automationDenied = denied;
      },
    });
    this.lastInboundAt = this.store.lastInboundAt();
    this.upkeep = new Scheduler({
      cron: deps.cron ?? nodeCronSource(logger), clock, logger,
      jobs: macUpkeepJobs({
        schedules: config.upkeep ?? DEFAULT_MAC_UPKEEP, store: this.store, staging: this.staging, retentionDays: config.retentionDays, clock, logger,
        runScript: s.enabled ? run : undefined,
        onAutomation: (denied) => { this.automationDenied = denied; },
        health: () => { const r = this.health(); return { status: r.status, inbound: r.components['inbound'], linkUp: this.linkState.up }; },
      }),
    });
    this.link = new LinkClient({
      url: config.hubUrl, keys, hubPublicKey: hubKey, clock, logger,
      channel: { ...DEFAULT_CHANNEL_OPTIONS, heartbeatMs: config.link.heartbeatMs, deadAfterMs: config.link.deadAfterMs, maxFrameBytes: config.link.maxFrameBytes },
      backoff: { baseMs: config.link.backoffBaseMs, capMs: config.link.backoffCapMs },
      handshakeTimeoutMs: config.link.handshakeTimeoutMs ?? 10_000, welcomeWithinMs: config.link.handshakeTimeoutMs ?? 10_000,
      onChannel: (channel) => {
        this.session = new MacLinkSession({
          channel, store: this.store, logger, agent: AGENT, options: { window: config.link.window, batch: config.link.batch, maxItemBytes: config.link.maxItemBytes },
          onReady: (account) => {
            this.link.connected();
            this.linkState = { up: true, since: clock.now(), reason: null, account, failures: 0 };
            logger.info({ account }, 'link up');
          },
          onSent: (n) => this.metrics.inc('events_forwarded_total', n),
          onAcked: (n) => { this.metrics.inc('events_acked_total', n); this.depthCache.at = 0; },
          onCommands: (n) => { this.metrics.inc('commands_total', n, { result: 'received' }); this.sender?.wake(); },
          expandChunk: (item) => chunkOnWire(item, logger, this.roots),
          beforeCommands: (items) => this.stageChunks(items),
          beginSend: this.sender === null ? undefined : (id, body) => this.sender!.beginNow(id, body),
          onQuery,
        });
        this.session.start();
      },
      onDown: (code, why) => {
        if (this.linkState.up) this.metrics.inc('reconnects_total');
        this.linkState = { up: false, since: this.linkState.up ? clock.now() : this.linkState.since, reason: `${why} (${code})`, account: null, failures: this.link.failedInARow };
        this.session = null;
      },
    });
  }

  /** A from-me row the relay sent carries its command id (the hub and assistants see it is our own reply). */
  private markOwn(e: RelayEvent): RelayEvent {
    if (e.kind !== 'from_me') return e;
    const id = this.store.sentBy(e.guid)
      ?? this.sender?.claim(e.chat?.guid ?? null, e.chat?.identifier ?? null, e.text, e.rowid, e.attachments.map((x) => x.name)) ?? null;
    return id === null ? e : { ...e, command_id: id };
  }

  /** Writes the file chunks among new commands into the staging folder of the send they belong to. */
  private stageChunks(items: readonly CommandItem[]): void {
    const after = this.store.commandSeq();
    for (const c of items) {
      const b = c.body;
      if (c.seq <= after || b['kind'] !== 'file_chunk') continue;
      try {
        this.staging.writeChunk(String(b['command_id']), Number(b['index']), Buffer.from(typeof b['data'] === 'string' ? b['data'] : '', 'base64'));
      } catch (err) {
        // A chunk we will never accept (bad id, over the size limit): its send fails its check. Disk errors drop the link.
        if (!(err instanceof RelayError) || !err.code.startsWith('STAGING_')) throw err;
        this.deps.logger.warn({ code: err.code }, `file chunk refused: ${err.message}`);
      }
    }
  }

  private commit(read: readonly RelayEvent[], state: object): void {
    const events = read.map((e) => this.markOwn(e));
    const deadline = this.deps.clock.now() + this.deps.config.attachments.waitSeconds * 1000;
    // Attachments of rows the relay sent are the hub's own uploads: only the others travel.
    const attachments = events.flatMap((e) => (e.kind === 'message' || (e.kind === 'from_me' && e.command_id === null) ? e.attachments : []));
    const uploads = this.uploader === null ? [] : attachments.map((x) => ({ guid: x.guid, path: x.path, name: x.name, mimeType: x.mime_type, expectedBytes: x.bytes, deadline }));
    const items = events.map((e) => ({ type: 'event' as const, id: eventId(e), body: e as unknown as Record<string, unknown> }));
    // With uploads off, the hub is told at once that these bytes will not come (not left pending).
    const refused = this.uploader !== null ? [] : attachments.map((x) => ({ type: 'file' as const, id: `file:${x.guid}`,
      body: { guid: x.guid, name: x.name, mime_type: x.mime_type, bytes: x.bytes, sha256: null, chunks: 0, status: 'disabled', error: 'this relay does not send attachments (attachments.upload is off)' } }));
    this.store.enqueueWithCursor([...items, ...refused], 'chatdb', JSON.stringify(state), uploads);
    if (uploads.length > 0) this.uploader?.wake();
    const now = this.deps.clock.now();
    const debug = this.deps.logger.isLevelEnabled('debug');
    for (const e of events) {
      this.metrics.inc('events_read_total', 1, { kind: e.kind });
      if ((e.kind === 'message' || e.kind === 'from_me') && e.decode_error !== null) this.metrics.inc('decode_errors_total');
      if ((e.kind === 'message' || e.kind === 'from_me' || e.kind === 'edit') && e.truncated) this.metrics.inc('events_truncated_total');
      if (e.kind === 'message') this.lastInboundAt = now;
      if (debug) this.deps.logger.debug({ id: eventId(e), kind: e.kind, chat: this.anon.chat(e.chat?.guid ?? null), sender: this.anon.handle(e.sender), backlog: e.backlog }, 'event read');
    }
    if (events.length > 0) {
      this.lastEventAt = now;
      this.depthCache.at = 0;
      this.session?.pump();
    }
  }

  private depth(): { count: number; oldestAgeMs: number | null } {
    const now = this.deps.clock.now();
    if (now - this.depthCache.at > 1000) this.depthCache = { at: now, value: this.store.depth() };
    return this.depthCache.value;
  }

  private deadLetters(): ReturnType<MacStore['deadLetters']> {
    const now = this.deps.clock.now();
    if (now - this.deadCache.at > 1000) this.deadCache = { at: now, value: this.store.deadLetters() };
    return this.deadCache.value;
  }

  health(): HealthReport {
    const { config, clock } = this.deps;
    const tunnel = this.tunnel === null ? null : tunnelHealth(config.tunnel.interface!, this.tunnel.status);
    return macHealth({
      tunnel,
      now: clock.now(), startedAt: this.startedAt, stopping: this.stopping, reader: this.reader.status(),
      link: this.linkState, outbox: this.depth(), deadLetters: this.deadLetters(), lastInboundAt: this.lastInboundAt, automationDenied: this.automationDenied,
      limits: { degradedDepth: config.outbox.degradedDepth, degradedAgeSeconds: config.outbox.degradedAgeSeconds, quietMinutes: config.quietMinutes },
    });
  }

  /** Starts everything; resolves with the health port once listening. */
  async start(): Promise<number> {
    const { config, logger } = this.deps;
    await this.upkeep.run('prune');
    this.http = createServer((req, res) => {
      if (!serveHealth(req, res, { report: () => this.health(), metrics: this.metrics })) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only /health and /metrics here' } }));
      }
    });
    const port = await listen(this.http, config.health.host, config.health.port, 'health');
    this.watcher.start();
    this.tunnel?.start();
    this.link.start();
    this.sender?.start();
    this.uploader?.wake();
    this.upkeep.start();
    logger.info({ chatDb: config.chatDb, hub: config.hubUrl, health: `${config.health.host}:${port}`, cursor: this.reader.cursor()?.rowid ?? null }, 'relay started');
    return port;
  }

  /** Stops taking work, closes the link cleanly and the stores. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.upkeep.stop();
    this.watcher.stop();
    this.tunnel?.stop();
    this.reader.close();
    await this.sender?.stop();
    await this.uploader?.stop();
    this.sentRows.close();
    this.history.close();
    this.link.stop();
    await closeHttp(this.http);
    this.store.close();
    this.deps.logger.info('relay stopped');
  }
}
