// Keeps the reader polling: fs.watch on the Messages directory (not the files, which SQLite
// replaces), re-armed on error and when the directory changes, plus a steady poll so a deaf
// watcher costs latency, never messages; settle deadlines and backoff after errors.
import { watch as fsWatch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { PollOutcome } from './reader.js';

export interface WatcherOptions {
  /** Steady poll interval (default 1000 ms). */
  readonly pollIntervalMs: number;
  /** Backoff after a failed poll: first delay and cap (default 1 s → 30 s). */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Delay between a file event and the poll it causes (coalesces bursts; default 2 ms). */
  readonly eventDelayMs: number;
  /** A second look after a file event, for commits not yet visible at the first (default 25 ms). */
  readonly eventRecheckMs: number;
}

export const DEFAULT_WATCHER_OPTIONS: WatcherOptions = {
  pollIntervalMs: 1000, backoffInitialMs: 1000, backoffMaxMs: 30_000, eventDelayMs: 2, eventRecheckMs: 25,
};

export interface WatcherDeps {
  readonly path: string;
  readonly poll: () => PollOutcome;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: Partial<WatcherOptions>;
  /** Injected for tests that kill the watcher. */
  readonly watch?: typeof fsWatch;
  /** Told after every poll (for health and the CLI). */
  readonly onPoll?: (outcome: PollOutcome) => void;
}

export class ChatDbWatcher {
  private readonly opts: WatcherOptions;
  private readonly names: Set<string>;
  private watcher: FSWatcher | null = null;
  private dirId: string | null = null;
  private timer: unknown = null;
  private timerAt = Infinity;
  private recheck: unknown = null;
  private failures = 0;
  private stopped = true;
  private fileEvents = 0;

  constructor(private readonly deps: WatcherDeps) {
    this.opts = { ...DEFAULT_WATCHER_OPTIONS, ...deps.options };
    const base = basename(deps.path);
    this.names = new Set([base, `${base}-wal`, `${base}-shm`, `${base}-journal`]);
  }

  /** Starts watching and polls at once (synchronously: the first poll has run when this returns). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
    this.run();
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    if (this.recheck !== null) this.deps.clock.clearTimeout(this.recheck);
    this.timer = null;
    this.recheck = null;
    this.timerAt = Infinity;
  }

  /** Number of file events seen (for tests and diagnostics). */
  get events(): number {
    return this.fileEvents;
  }

  /** True while a directory watch is armed. */
  get watching(): boolean {
    return this.watcher !== null;
  }

  /** Asks for a poll now (used on file events and by callers that know something changed). */
  trigger(): void {
    this.scheduleIn(this.opts.eventDelayMs);
  }

  private dirIdentity(): string | null {
    try {
      const s = statSync(dirname(this.deps.path), { bigint: true });
      return `${s.dev}:${s.ino}`;
    } catch {
      return null;
    }
  }

  private arm(): void {
    if (this.stopped || this.watcher !== null) return;
    const dir = dirname(this.deps.path);
    try {
      const w = (this.deps.watch ?? fsWatch)(dir, { persistent: false });
      w.on('change', (type, name) => {
        const file = typeof name === 'string' ? name : name?.toString();
        if (file === undefined || file === null || this.names.has(file)) {
          this.fileEvents++;
          this.onFileEvent();
        }
        if (type === 'rename' && (file === undefined || file === null || file === basename(dir))) this.rearm('directory renamed');
      });
      w.on('error', (err) => this.rearm(`watch error: ${err.message}`));
      this.watcher = w;
      this.dirId = this.dirIdentity();
    } catch (err) {
      this.deps.logger.debug({ dir, err: (err as Error).message }, 'cannot watch the Messages directory yet; polling');
    }
  }

  private disarm(): void {
    const w = this.watcher;
    this.watcher = null;
    if (w !== null) {
      w.removeAllListeners('change');
      w.on('error', () => undefined);
      w.close();
    }
  }

  private rearm(why: string): void {
    this.deps.logger.warn({ why }, 're-arming the chat.db directory watch');
    this.disarm();
    this.arm();
  }

  private onFileEvent(): void {
    this.trigger();
    if (this.recheck === null) {
      this.recheck = this.deps.clock.setTimeout(() => {
        this.recheck = null;
        this.scheduleIn(0);
      }, this.opts.eventRecheckMs);
    }
  }

  private scheduleIn(ms: number): void {
    if (this.stopped) return;
    const at = this.deps.clock.now() + Math.max(0, ms);
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.run();
    }, Math.max(0, ms));
  }

  private run(): void {
    if (this.stopped) return;
    if (this.watcher === null || this.dirIdentity() !== this.dirId) {
      if (this.watcher !== null) this.rearm('the Messages directory was replaced');
      else this.arm();
    }
    const outcome = this.deps.poll();
    this.deps.onPoll?.(outcome);
    if (this.stopped) return;
    if (!outcome.ok) {
      const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** Math.min(this.failures, 16));
      this.failures++;
      this.scheduleIn(delay);
      return;
    }
    this.failures = 0;
    const now = this.deps.clock.now();
    let next = this.opts.pollIntervalMs;
    if (outcome.more) next = 0;
    else if (outcome.nextDeadline !== null) next = Math.min(next, Math.max(0, outcome.nextDeadline - now));
    this.scheduleIn(next);
  }
}
