// What one doctor check answers: passed, failed (with the exact fix) or skipped (with why), and
// where its answer came from (a file, the running daemon's /health, a real handshake…).

/** `ok` ✓, `fail` ✗ (with a fix), `skip` – (does not apply here). */
export type CheckStatus = 'ok' | 'fail' | 'skip';

/** One line of `imessage-relay doctor`. */
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found (ok), what is wrong (fail), or why the check did not run (skip). */
  readonly detail: string;
  /** What to do about a failure, exactly; null unless status is `fail`. */
  readonly fix: string | null;
  /** Where the answer came from when it is not this process looking for itself (e.g. "daemon /health"). */
  readonly source: string | null;
}

/** A ✓ line. */
export const passed = (name: string, detail: string, source: string | null = null): CheckResult => ({ name, status: 'ok', detail, fix: null, source });
/** A ✗ line with what to do about it. */
export const failed = (name: string, detail: string, fix: string, source: string | null = null): CheckResult => ({ name, status: 'fail', detail, fix, source });
/** A – line: the check does not apply (or cannot run), and why. */
export const skipped = (name: string, why: string): CheckResult => ({ name, status: 'skip', detail: why, fix: null, source: null });

/** A check: runs on its own and never throws (a failure is a result). */
export type Check = () => Promise<CheckResult>;
