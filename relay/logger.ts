// pino behind one module: structured JSON logs to a rolling file and stdout, anonymised by default
// (no message text, no full phone numbers or e-mail addresses) unless the admin sets `logContent`.
// Handles are shortened and tagged with a keyed hash whose secret stays in the data folder (0600).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import roll from 'pino-roll';
import { RelayError } from './errors.js';

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
  try {
    chmodSync(dirname(o.file), 0o700);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') throw err; // a folder that is not ours: leave it
  }
  // Log files are 0600 whatever the umask (sonic-boom opens each new file with this mode).
  const file = await roll({ file: o.file, frequency: 'daily', size: '20m', mkdir: true, symlink: true, limit: { count: 14 }, mode: 0o600 });
  file.once('ready', () => tightenLogFiles(dirname(o.file!)));
  const level = (o.level ?? 'info') as pino.Level;
  return pino(options(o), pino.multistream([{ stream: file, level }, { stream: pino.destination({ dest: 1, sync: false }), level }]));
}

/** Sets log files an older version left readable by others back to 0600 (best effort: logging goes on). */
function tightenLogFiles(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isFile() && (st.mode & 0o077) !== 0) chmodSync(p, 0o600);
    }
  } catch {
    // a file rolled away meanwhile, or not ours: nothing to do
  }
}

/** The live log file pino-roll writes for `file` (the `current.log` link in its folder). */
export function currentLogFile(file: string): string {
  return join(dirname(file), 'current.log');
}

/** A logger that drops everything (for library use and quiet CLI commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** 32 random bytes per install, kept in `<dataDir>/log.secret`: the key of the handle hash in logs. */
export const LOG_SECRET_FILE = 'log.secret';
const SECRET_BYTES = 32;

/**
 * Reads `<dataDir>/log.secret`, creating it once (32 random bytes, mode 0600, written to a temporary
 * file and linked into place, so a crash or a second process never leaves a half-written secret).
 * A secret readable by others is set back to 0600.
 * @throws RelayError LOG_SECRET_INVALID when the file is not 32 bytes.
 */
export function loadLogSecret(dataDir: string): Buffer {
  const path = join(dataDir, LOG_SECRET_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    statSync(path);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
    const tmp = `${path}.${randomUUID()}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(SECRET_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      chmodSync(tmp, 0o600);
      linkSync(tmp, path);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const secret = readFileSync(path);
  if (secret.length !== SECRET_BYTES) {
    throw new RelayError('LOG_SECRET_INVALID', `${path} is not a ${SECRET_BYTES}-byte log secret: remove it and a new one is made (older logs' handle hashes then no longer match)`, { path });
  }
  return secret;
}

/** Hex characters of the keyed hash kept in logs: 64 bits, so distinct handles practically never share one. */
export const HANDLE_HASH_HEX = 16;

/** Shortens handles and chat guids for logs; the same handle always gives the same text with the same secret. */
export interface HandleAnonymiser {
  /** "+1•••••••23#<hash>", "f•••@•••#<hash>"; the handle itself when `logContent` is on. */
  handle(handle: string | null): string | null;
  /** A chat guid with its address part anonymised ("iMessage;-;+1•••…23#<hash>"); group chats unchanged. */
  chat(guid: string | null): string | null;
}

/**
 * Anonymises handles for logs: keeps the shape and the last two characters and adds
 * HMAC-SHA-256(secret, handle) cut to 16 hex characters, so one person's lines can be followed.
 * The key is what stops anyone from finding the number by hashing every possible one (there are only
 * about 10^10 numbers per country code); the length only keeps two people from sharing a tag.
 */
export function handleAnonymiser(secret: Uint8Array, logContent = false): HandleAnonymiser {
  const tag = (handle: string): string => createHmac('sha256', secret).update(handle).digest('hex').slice(0, HANDLE_HASH_HEX);
  const handle = (h: string | null): string | null => {
    if (h === null || logContent) return h;
    if (h.includes('@')) return `${h[0] ?? ''}•••@•••#${tag(h)}`;
    const keep = h.startsWith('+') ? h.slice(0, 2) : '';
    return `${keep}${'•'.repeat(Math.max(0, h.length - keep.length - 2))}${h.slice(-2)}#${tag(h)}`;
  };
  const chat = (guid: string | null): string | null => {
    if (guid === null || logContent) return guid;
    const i = guid.lastIndexOf(';');
    if (i < 0) return handle(guid);
    const address = guid.slice(i + 1);
    return address.startsWith('chat') ? guid : `${guid.slice(0, i + 1)}${handle(address)}`;
  };
  return { handle, chat };
}
