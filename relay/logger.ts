// pino behind one module: structured JSON logs, anonymised by default (no message text,
// no full phone numbers or e-mail addresses) unless the admin turns `logContent` on.
import { createHash } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Where JSON lines go; default stdout. Tests pass a stream and read what was written. */
  readonly destination?: DestinationStream;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({ level: options.level ?? 'info', name: options.name ?? 'imessage-relay', base: { pid: process.pid } },
    options.destination ?? pino.destination(1));
}

/** A logger that drops everything (for library use and quiet CLI commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Anonymises a handle for logs: keeps the shape and last two characters, adds a short stable hash
 * so one person's lines can be followed: "+1•••••••23#9f2c", "f•••@•••#51aa".
 */
export function anonymiseHandle(handle: string | null, logContent = false): string | null {
  if (handle === null || logContent) return handle;
  const hash = createHash('sha256').update(handle).digest('hex').slice(0, 4);
  if (handle.includes('@')) return `${handle[0] ?? ''}•••@•••#${hash}`;
  const keep = handle.startsWith('+') ? handle.slice(0, 2) : '';
  return `${keep}${'•'.repeat(Math.max(0, handle.length - keep.length - 2))}${handle.slice(-2)}#${hash}`;
}
