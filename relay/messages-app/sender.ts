// The relay's hands: commands from the inbox become messages in Messages, each sent at most once.
// `sending` is stored (with chat.db's MAX(ROWID)) before osascript runs; afterwards the row is found
// in chat.db and followed (sent, delivered, read, failed); a send that cannot be confirmed is
// `unknown`, never repeated. One osascript at a time, in inbox order, within the rate limits.
import type { Clock } from '../clock.js';
import { RelayError, asRelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { safeFileName, type FileRef } from '../model/files.js';
import { dmOf, parseSend, visibleSendText, type Payload, type Target } from './send-command.js';
import { OsaCode, type ScriptName } from './osascript.js';
import { RateLimiter, type RateLimits } from './rate-limit.js';
import { publicStatus, SentFollower } from './sent-follower.js';

export type SentStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';
/** The row a send made, as its result reports it: its chat (guid, chat.db ROWID) and service. */
export interface SentRowInfo { readonly chatGuid: string | null; readonly chatId: number | null; readonly service: string | null }
export interface FoundRow extends Partial<SentRowInfo> { readonly rowid: number; readonly guid: string; readonly status: SentStatus; readonly error: number | null; readonly noReceipts: boolean }
export type { Target } from './send-command.js';

/** chat.db lookups the sender needs (chatdb/sent-rows.ts). */
export interface SentRowLookup {
  maxRowid(): number;
  find(target: Target, text: string, afterRowid: number): FoundRow | null;
  findFile(target: Target, name: string, afterRowid: number): FoundRow | null;
  transferFinished(rowid: number): boolean;
  ghost(afterRowid: number): FoundRow | null;
  state(rowid: number): FoundRow | null;
}

/** Staged files (messages-app/staging.ts). */
export interface FileStaging {
  prepare(commandId: string, file: FileRef): string;
  remove(commandId: string): void;
  sweep(keep: ReadonlySet<string>, idleMs: number, now: number): number;
}

/** A command waiting in (or half-way out of) the inbox. */
export interface InboxRow {
  readonly commandId: string;
  readonly body: Record<string, unknown>;
  readonly probeRowid: number | null;
  readonly sentRowid: number | null;
}

/** The inbox side of the Mac store. */
export interface CommandStore {
  commandsInState(state: string): InboxRow[];
  markSending(commandId: string, probeRowid: number): void;
  setCommandState(commandId: string, state: string, detail?: { appleGuid?: string | null; error?: string | null; sentRowid?: number | null; row?: SentRowInfo }): void;
}

export interface SenderOptions extends RateLimits {
  /** How long to look for the row after osascript answered (default 10 s). */
  readonly confirmMs: number;
  /** How long to follow a found row towards delivered/read (default 10 min). */
  readonly followMs: number;
  readonly pollMs: number;
}

export const DEFAULT_SENDER_OPTIONS: SenderOptions = { perSecond: 3, perChatPerSecond: 1, confirmMs: 10_000, followMs: 600_000, pollMs: 100 };

export interface SenderDeps {
  readonly store: CommandStore;
  readonly rows: SentRowLookup;
  /** Where files from the hub are staged; without it, file sends fail with STAGING_UNAVAILABLE. */
  readonly staging?: FileStaging;
  readonly run: (name: ScriptName, args: Record<string, string>) => Promise<Record<string, unknown>>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: Partial<SenderOptions>;
  /** Results were stored (the outbox has something for the hub). */
  readonly onResult?: () => void;
  /** Automation permission seen denied (true) or working again (false). */
  readonly onAutomation?: (denied: boolean) => void;
}

interface InFlight { readonly commandId: string; readonly target: Target; readonly text: string | null; readonly fileName: string | null; readonly probe: number }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const chatKeyOf = (t: Target): string => ('chatGuid' in t ? t.chatGuid : `${t.service};-;${t.handle}`);


export class Sender {
  private readonly opts: SenderOptions;
  private readonly rate: RateLimiter;
  private readonly follower: SentFollower;
  private inFlight: InFlight | null = null;
  /** A command marked `sending` as it was stored (beginNow), to be run next. */
  private begun: { readonly commandId: string; readonly probe: number } | null = null;
  private stopped = true;
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SenderDeps) {
    this.opts = { ...DEFAULT_SENDER_OPTIONS, ...deps.options };
    this.rate = new RateLimiter(this.opts, deps.clock);
    this.follower = new SentFollower({
      rows: deps.rows, staging: deps.staging, clock: deps.clock, logger: deps.logger, tickMs: Math.max(50, this.opts.pollMs * 2),
      report: (id, status, detail) => this.set(id, status, detail),
    });
  }

  /** Reconciles sends a crash left half-done, then works through the inbox. */
  start(): void {
    this.stopped = false;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    // After the loop: a send finishing meanwhile may still hand its row to the follower (whose timer would keep the process up).
    await this.loopDone;
    this.follower.stop();
  }

  /**
   * Called while a new command is being stored: if the sender is idle and the command is a text it may
   * send at once (rate limits allow), notes chat.db's MAX(ROWID) and returns it, and the command is
   * stored already `sending` (one disk flush less on the way to osascript). Otherwise null.
   */
  beginNow(commandId: string, body: Record<string, unknown>): number | null {
    if (this.stopped || this.wakeUp === null || this.inFlight !== null || this.begun !== null) return null;
    const parsed = parseSend(body);
    if (typeof parsed === 'string' || parsed.file !== null) return null;
    if (this.rate.delay(chatKeyOf(parsed.target)) > 0) return null;
    try {
      const probe = this.deps.rows.maxRowid();
      this.begun = { commandId, probe };
      return probe;
    } catch {
      return null;
    }
  }

  /** New commands arrived. */
  wake(): void {
    this.wakeUp?.();
  }

  /** If a from-me row belongs to the send in progress, the command id (so the event says the relay sent it). */
  claim(chatGuid: string | null, chatIdentifier: string | null, text: string | null, rowid: number, attachmentNames: readonly (string | null)[] = []): string | null {
    const f = this.inFlight;
    if (f === null || rowid <= f.probe) return null;
    const matches = f.fileName !== null
      ? attachmentNames.some((n) => (n ?? '').normalize('NFC') === f.fileName)
      : visibleSendText(text) === visibleSendText(f.text);
    if (!matches) return null;
    const t = f.target;
    return ('chatGuid' in t ? t.chatGuid === chatGuid : t.handle === chatIdentifier) ? f.commandId : null;
  }

  private async loop(): Promise<void> {
    for (const cmd of this.deps.store.commandsInState('sending')) {
      if (this.stopped) return;
      await this.reconcile(cmd, 'sending');
    }
    // Sent but not yet delivered or read when the relay stopped: a change is reported, and the row followed on.
    for (const state of ['sent', 'delivered'] as const) {
      for (const cmd of this.deps.store.commandsInState(state)) {
        if (this.stopped) return;
        if (cmd.sentRowid !== null) await this.reconcile(cmd, state);
      }
    }
    // Staged files no command needs any more (finished while the relay was down, or unknown an hour ago).
    try {
      const keep = new Set([...this.deps.store.commandsInState('received').map((c) => c.commandId.toLowerCase()), ...this.follower.ids()].map((id) => id.toLowerCase()));
      const swept = this.deps.staging?.sweep(keep, 3600_000, this.deps.clock.now()) ?? 0;
      if (swept > 0) this.deps.logger.info({ swept }, 'removed staged files no send needs any more');
    } catch (err) {
      this.deps.logger.warn({ err: asRelayError(err).message }, 'could not sweep the staging folder');
    }
    while (!this.stopped) {
      const begun = this.begun;
      this.begun = null;
      // Marked `sending` with the inbox insert; if that transaction failed, the row is not there and it comes again.
      const started = begun === null ? undefined : this.deps.store.commandsInState('sending').find((c) => c.commandId === begun.commandId);
      if (started !== undefined && begun !== null) {
        await this.guarded(started, () => this.send(started, begun.probe));
        continue;
      }
      const next = this.deps.store.commandsInState('received')[0];
      if (next === undefined) {
        await new Promise<void>((resolve) => { this.wakeUp = resolve; setTimeout(resolve, 30_000).unref(); });
        this.wakeUp = null;
        continue;
      }
      await this.guarded(next, () => this.send(next));
    }
  }

  private async guarded(cmd: InboxRow, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      // A store failure: the command stays where it was and is looked at again.
      this.deps.logger.error({ id: cmd.commandId, err: asRelayError(err).message }, 'sender: command could not be processed');
      await sleep(1000);
    }
  }

  private set(id: string, state: string, detail: { appleGuid?: string | null; error?: string | null; sentRowid?: number | null; row?: SentRowInfo } = {}): void {
    this.deps.store.setCommandState(id, state, detail);
    this.deps.logger.info({ id, state, error: detail.error ?? undefined }, `send ${state}`);
    this.deps.onResult?.();
  }

  /** Sends one command; `begunProbe` when it was marked `sending` as it was stored. */
  private async send(cmd: InboxRow, begunProbe?: number): Promise<void> {
    const parsed = parseSend(cmd.body);
    if (typeof parsed === 'string') return this.set(cmd.commandId, 'failed', { error: `BAD_COMMAND: ${parsed}` });
    const { target } = parsed;
    // A file is checked (size, SHA-256) and staged where Messages can read it before anything is sent.
    let path: string | null = null;
    if (parsed.file !== null) {
      try {
        if (this.deps.staging === undefined) throw new RelayError('STAGING_UNAVAILABLE', 'this relay has no staging folder for files');
        path = this.deps.staging.prepare(cmd.commandId, parsed.file);
      } catch (err) {
        const e = asRelayError(err);
        this.deps.staging?.remove(cmd.commandId);
        return this.set(cmd.commandId, 'failed', { error: `${e.code}: ${e.message}` });
      }
    }
    const chatKey = chatKeyOf(target);
    let probe: number;
    if (begunProbe !== undefined) {
      probe = begunProbe;
    } else {
      const wait = this.rate.delay(chatKey);
      if (wait > 0) await sleep(wait);
      probe = this.deps.rows.maxRowid();
      this.deps.store.markSending(cmd.commandId, probe);
    }
    this.deps.onResult?.();
    this.rate.record(chatKey);
    let used: Target = target;
    const fileName = parsed.file === null ? null : safeFileName(parsed.file.name);
    this.inFlight = { commandId: cmd.commandId, target, text: parsed.text, fileName, probe };
    const what = (to: Target): [ScriptName, Record<string, string>] => {
      const address: Record<string, string> = 'chatGuid' in to ? { chat: to.chatGuid } : { handle: to.handle, service: to.service };
      if (path !== null) return ['send-file', { ...address, path }];
      return ['chatGuid' in to ? 'send-to-chat' : 'send-to-handle', { ...address, text: parsed.text ?? '' }];
    };
    let failure: RelayError | null = null;
    try {
      try {
        await this.runOnce(...what(target));
      } catch (err) {
        const e = asRelayError(err);
        const dm = 'chatGuid' in target ? dmOf(target.chatGuid) : null;
        if (e.code !== OsaCode.NotFound || dm === null) throw e;
        // -1728 fails before anything is sent: try once more through the handle and its service.
        used = dm;
        this.inFlight = { ...this.inFlight, target: used };
        await this.runOnce(...what(used));
      }
      this.deps.onAutomation?.(false);
    } catch (err) {
      failure = asRelayError(err);
      if (failure.code === OsaCode.AutomationDenied) this.deps.onAutomation?.(true);
    }
    try {
      if (failure !== null && failure.details['ambiguous'] !== true) {
        if (path !== null) this.deps.staging?.remove(cmd.commandId);
        this.set(cmd.commandId, 'failed', { error: `${failure.code}: ${failure.message}` });
        return;
      }
      await this.confirm(cmd.commandId, used, parsed, probe, failure === null ? 'NO_ROW: osascript succeeded but no matching row appeared in chat.db' : `${failure.code}: ${failure.message}`);
    } finally {
      this.inFlight = null;
    }
  }

  /** Runs a send script; if Messages is not running (-600, nothing sent), launches it and tries once more. */
  private async runOnce(name: ScriptName, args: Record<string, string>): Promise<void> {
    try {
      // The moment the relay starts osascript (debug: the send latency benchmark reads it).
      this.deps.logger.debug({ id: this.inFlight?.commandId, script: name }, 'osascript run');
      await this.deps.run(name, args);
    } catch (err) {
      if (asRelayError(err).code !== OsaCode.NotRunning) throw err;
      this.deps.logger.warn('Messages is not running: launching it and trying once more');
      await this.deps.run('launch', {});
      await sleep(1000);
      await this.deps.run(name, args);
    }
  }

  /** Looks for the row the send produced; reports it and follows it, or reports ghost, or `unknown` with `unconfirmed`. */
  private async confirm(id: string, target: Target, payload: Payload, probe: number, unconfirmed: string): Promise<void> {
    const until = this.deps.clock.now() + this.opts.confirmMs;
    for (;;) {
      const row = payload.file !== null
        ? this.deps.rows.findFile(target, safeFileName(payload.file.name), probe)
        : this.deps.rows.find(target, payload.text, probe);
      if (row !== null) {
        this.set(id, publicStatus(row.status), { appleGuid: row.guid, sentRowid: row.rowid, error: row.error === null ? null : `MESSAGES_ERROR_${row.error}`, row: { chatGuid: row.chatGuid ?? null, chatId: row.chatId ?? null, service: row.service ?? null } });
        this.follower.follow({ commandId: id, rowid: row.rowid, status: row.status, until: this.deps.clock.now() + this.opts.followMs, staged: payload.file !== null }, row);
        return;
      }
      const ghost = this.deps.rows.ghost(probe);
      if (ghost !== null) {
        if (payload.file !== null) this.deps.staging?.remove(id);
        this.set(id, 'failed', { appleGuid: ghost.guid, error: 'GHOST_ROW: Messages accepted the send but wrote an empty, unjoined row (macOS 26); nothing went out' });
        return;
      }
      if (this.deps.clock.now() >= until || this.stopped) break;
      await sleep(this.opts.pollMs);
    }
    // A staged file is kept: Messages may still pick it up. The next start sweeps it away.
    this.set(id, 'unknown', { error: unconfirmed });
  }

  /**
   * A command the relay left `sending`, `sent` or `delivered` (`was`) when it stopped. A found row's
   * state is reported only if it changed (a group or SMS send that is `sent` is final: nothing to
   * say) and the row is followed on; a send that never found its row is looked for, never repeated.
   */
  private async reconcile(cmd: InboxRow, was: 'sending' | 'sent' | 'delivered'): Promise<void> {
    const parsed = parseSend(cmd.body);
    if (typeof parsed === 'string') return this.set(cmd.commandId, 'failed', { error: `BAD_COMMAND: ${parsed}` });
    if (cmd.sentRowid !== null) {
      const row = this.deps.rows.state(cmd.sentRowid);
      if (row !== null) {
        if (publicStatus(row.status) !== was) this.set(cmd.commandId, publicStatus(row.status), { appleGuid: row.guid, error: row.error === null ? null : `MESSAGES_ERROR_${row.error}` });
        this.follower.follow({ commandId: cmd.commandId, rowid: row.rowid, status: row.status, until: this.deps.clock.now() + this.opts.followMs, staged: parsed.file !== null }, row);
        return;
      }
      // The row is gone (its chat deleted in Messages): what was reported stands.
      if (was !== 'sending') return;
    }
    this.deps.logger.warn({ id: cmd.commandId }, 'a send was interrupted; looking for its row in chat.db (it is never sent again)');
    // Matched by handle for a DM: the send may have gone through the handle after a -1728.
    const target = ('chatGuid' in parsed.target ? dmOf(parsed.target.chatGuid) : null) ?? parsed.target;
    const probe = cmd.probeRowid ?? this.deps.rows.maxRowid();
    // Its row may land while it is looked for: the from-me event then names the command, as for a send in flight.
    this.inFlight = { commandId: cmd.commandId, target, text: parsed.text, fileName: parsed.file === null ? null : safeFileName(parsed.file.name), probe };
    try {
      await this.confirm(cmd.commandId, target, parsed, probe,
        'NO_ROW: the relay stopped while this send was under way (whether osascript ran to the end is not known) and no matching row appeared in chat.db; it is not sent again');
    } finally {
      this.inFlight = null;
    }
  }
}
