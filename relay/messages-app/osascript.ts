// Runs our static JXA files with osascript (`osascript -l JavaScript <file> <args…>`) and turns its
// answers into results or typed errors with stable codes (messages-app.md §3): the number in
// parentheses at the end of stderr is the only stable part.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelayError } from '../errors.js';
import { runCommand } from '../run-command.js';

export const OsaCode = {
  AutomationDenied: 'OSA_AUTOMATION_DENIED',
  NotFound: 'OSA_NOT_FOUND',
  NotRunning: 'OSA_NOT_RUNNING',
  ConnectionInvalid: 'OSA_CONNECTION_INVALID',
  TimedOut: 'OSA_TIMEOUT',
  CoercionFailed: 'OSA_BAD_TYPE',
  ScriptError: 'OSA_SCRIPT_ERROR',
  Failed: 'OSA_FAILED',
  NoOutput: 'OSA_BAD_OUTPUT',
} as const;

const BY_NUMBER: Record<number, string> = {
  [-1743]: OsaCode.AutomationDenied,
  [-1728]: OsaCode.NotFound,
  [-600]: OsaCode.NotRunning,
  [-609]: OsaCode.ConnectionInvalid,
  [-1712]: OsaCode.TimedOut,
  [-1700]: OsaCode.CoercionFailed,
  [-2700]: OsaCode.ScriptError,
};

/** The folder holding the JXA files (applescript/ at the package root). */
export const SCRIPTS_DIR = fileURLToPath(new URL('../../applescript/', import.meta.url));

export type ScriptName = 'send-to-chat' | 'send-to-handle' | 'send-file' | 'probe' | 'launch';

export interface OsascriptOptions {
  /** The osascript binary (default /usr/bin/osascript; tests pass a fake). */
  readonly osascript: string;
  readonly timeoutMs: number;
  readonly scriptsDir?: string;
  /** Extra environment on top of the inherited one. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Maps an osascript failure to a coded error. `ambiguous` is true when Messages may have acted
 * anyway (timeouts, a dropped connection, a kill): such a send must be reconciled, never retried blindly.
 */
export function osaError(stderr: string, exitCode: number | null, timedOut: boolean): RelayError {
  if (timedOut) return new RelayError(OsaCode.TimedOut, 'osascript did not answer in time and was killed', { number: null, ambiguous: true });
  const line = stderr.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
  const m = /\((-?\d+)\)\s*$/.exec(line);
  const number = m === null ? null : Number(m[1]);
  const text = line.replace(/^.*?execution error:\s*/, '').replace(/\s*\(-?\d+\)\s*$/, '');
  const own = /IMR_[A-Z_]+/.exec(text)?.[0] ?? null;
  const code = number === null ? OsaCode.Failed : BY_NUMBER[number] ?? OsaCode.Failed;
  const ambiguous = number === -1712 || number === -609 || (number === null && exitCode === null);
  const hint = code === OsaCode.AutomationDenied
    ? ': allow this program to control Messages in System Settings → Privacy & Security → Automation'
    : code === OsaCode.NotRunning ? ': Messages is not running (or not answering)' : '';
  return new RelayError(code, `osascript failed (${number ?? `exit ${exitCode ?? 'killed'}`}): ${text || 'no message'}${hint}`,
    { number, ambiguous, scriptCode: own });
}

/**
 * Runs one of our scripts with its arguments as one JSON argument (so any text, NUL included, passes
 * through argv untouched); resolves with its parsed JSON answer, rejects with a coded RelayError.
 */
export async function runScript(name: ScriptName, args: Readonly<Record<string, string>>, opts: OsascriptOptions): Promise<Record<string, unknown>> {
  const file = join(opts.scriptsDir ?? SCRIPTS_DIR, `${name}.js`);
  const r = await runCommand(opts.osascript, ['-l', 'JavaScript', file, JSON.stringify(args)], {
    timeoutMs: opts.timeoutMs, ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
  });
  if (r.exitCode !== 0 || r.timedOut) throw osaError(r.stderr, r.exitCode, r.timedOut);
  try {
    const value = JSON.parse(r.stdout.trim()) as unknown;
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new RelayError(OsaCode.NoOutput, `osascript answered ${JSON.stringify(r.stdout.slice(0, 200))}, not the expected JSON`, { number: null, ambiguous: true });
  }
}
