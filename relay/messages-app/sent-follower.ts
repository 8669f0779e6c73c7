// Following the rows our sends produced: each change (sent, delivered, read, failed) is reported,
// and a staged file is removed once Messages is done with it. The timer runs only while something is
// followed (an idle relay pays nothing).
import type { Clock } from '../clock.js';
import { asRelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FileStaging, FoundRow, SentRowLookup, SentStatus } from './sender.js';

/** A found row followed towards its final state; `staged` while its staged file waits for Messages to be done with it. */
export interface Follow { readonly commandId: string; readonly rowid: number; status: SentStatus; readonly until: number; staged: boolean }

export interface FollowerDeps {
  readonly rows: SentRowLookup;
  readonly staging: FileStaging | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tickMs: number;
  /** A followed row changed: the command's new state. */
  readonly report: (commandId: string, status: string, detail: { appleGuid: string; error: string | null }) => void;
}

const FINAL: ReadonlySet<string> = new Set(['read', 'failed']);

/** The status a command shows for a row's state (a row not yet accepted is still `sending`). */
export const publicStatus = (s: SentStatus): string => (s === 'pending' ? 'sending' : s);

/** Nothing more will happen to this row that is worth following. */
export const done = (row: { status: SentStatus; noReceipts: boolean }): boolean => FINAL.has(row.status) || (row.noReceipts && row.status === 'sent');

export class SentFollower {
  private readonly follows = new Map<string, Follow>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: FollowerDeps) {}

  /** Follows a found row until nothing more will happen to it and Messages is done with its staged file. */
  follow(f: Follow, row: FoundRow): void {
    this.release(f, row);
    if (done(row) && !f.staged) return;
    this.follows.set(f.commandId, f);
    this.timer ??= setInterval(() => this.tick(), this.deps.tickMs);
  }

  /** Commands being followed. */
  ids(): string[] {
    return [...this.follows.keys()];
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Removes a staged file once Messages no longer needs it: delivered, read or failed, or sent with its transfer finished. */
  private release(f: Follow, row: { status: SentStatus }): void {
    if (!f.staged) return;
    const finished = row.status === 'delivered' || row.status === 'read' || row.status === 'failed'
      || (row.status === 'sent' && this.deps.rows.transferFinished(f.rowid));
    if (!finished) return;
    this.deps.staging?.remove(f.commandId);
    f.staged = false;
  }

  private tick(): void {
    const now = this.deps.clock.now();
    for (const f of this.follows.values()) {
      try {
        const row = this.deps.rows.state(f.rowid);
        if (row !== null && row.status !== f.status) {
          f.status = row.status;
          this.deps.report(f.commandId, publicStatus(row.status), { appleGuid: row.guid, error: row.error === null ? null : `MESSAGES_ERROR_${row.error}` });
        }
        if (row !== null) this.release(f, row);
        const over = row === null || now > f.until;
        if (over && f.staged) { this.deps.staging?.remove(f.commandId); f.staged = false; }
        if (over || (row !== null && done({ status: f.status, noReceipts: row.noReceipts }) && !f.staged)) this.follows.delete(f.commandId);
      } catch (err) {
        this.deps.logger.warn({ id: f.commandId, err: asRelayError(err).message }, 'following a sent row failed; will retry');
      }
    }
    if (this.follows.size === 0) this.stop();
  }
}
