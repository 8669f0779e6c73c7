// pino behind one module: structured JSON logs to a rolling file and stdout, anonymised by default
// (no message text, no full phone numbers or e-mail addresses) unless the admin sets `logContent`.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import roll from 'pino-roll';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Where JSON lines go; default stdout. Tests pass a stream and read what was written. */
  readonly destination?: DestinationStream;
  /** Keep message text and full handles in logs (off by default). */
  readonly logContent?: boolean;
}

/** Fields that may carry message content: censored unless logContent is on. */
const CONTENT_PATHS = ['text', 'body', 'event.text', 'event.body', '*.text', 'payload', 'event.attachments[*].name', 'event.mentions'];

function options(o: LoggerOptions): pino.LoggerOptions {
  return {
    level: o.level ?? 'info',
    name: o.name ?? 'imessage-relay',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(o.logContent === true ? {} : { redact: { paths: CONTENT_PATHS, censor: '[redacted]' } }),
  };
}

/** Creates a logger writing to one destination (stdout by default). */
export function createLogger(o: LoggerOptions = {}): Logger {
  return pino(options(o), o.destination ?? pino.destination(1));
}

/**
 * The daemon's logger: JSON lines to stdout and to a daily/size-rolled file beside `file`
 * (pino-roll; the folder is created first, `current.log` points at the live file). Both streams
 * write asynchronously from the main thread: no worker threads, so an idle daemon stays idle.
 */
export async function createProcessLogger(o: LoggerOptions & { readonly file: string | null }): Promise<Logger> {
  if (o.file === null) return createLogger(o);
  mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
  const file = await roll({ file: o.file, frequency: 'daily', size: '20m', mkdir: true, symlink: true, limit: { count: 14 } });
  const level = (o.level ?? 'info') as pino.Level;
  return pino(options(o), pino.multistream([{ stream: file, level }, { stream: pino.destination({ dest: 1, sync: false }), level }]));
}

/** The live log file pino-roll writes for `file` (the `current.log` link in its folder). */
export function currentLogFile(file: string): string {
  return join(dirname(file), 'current.log');
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

/** A chat guid with its address part anonymised ("iMessage;-;+1•••…23#9f2c"). */
export function anonymiseChat(guid: string | null, logContent = false): string | null {
  if (guid === null || logContent) return guid;
  const i = guid.lastIndexOf(';');
  if (i < 0) return anonymiseHandle(guid);
  const address = guid.slice(i + 1);
  return address.startsWith('chat') ? guid : `${guid.slice(0, i + 1)}${anonymiseHandle(address)}`;
}
