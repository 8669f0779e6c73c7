// Files the setup commands (init, tunnel config) write: created only where nothing is (never
// overwritten), or replaced whole through a rename; a refusal that lists what exists and how to
// start over; paths quoted for a line the admin copies into a shell.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { InitCode } from '../config/starter.js';
import { RelayError } from '../errors.js';

/** The paths among `paths` that exist (a dangling symbolic link counts: writing there would follow it). */
export function existing(paths: readonly string[]): string[] {
  return paths.filter((p) => {
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

/** `'a b'` for a shell when the text needs it, as is otherwise. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@=+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Refuses to go on when any of `paths` exists, naming them and how to start over.
 * @throws RelayError INIT_EXISTS
 */
export function refuseExisting(paths: readonly string[], what: string, consequence: string): void {
  const found = existing(paths);
  if (found.length === 0) return;
  throw new RelayError(InitCode.Exists, `${what}: nothing was changed, because ${found.join(', ')} already ${found.length === 1 ? 'exists' : 'exist'}. `
    + `To start over, remove ${found.length === 1 ? 'it' : 'them'} (rm ${found.map(shellQuote).join(' ')}) and run this again; ${consequence}`, { files: found.join('\n') });
}

function writeAll(fd: number, text: string): void {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
  fsyncSync(fd);
}

/**
 * Creates `path` holding `text` (its folder 0700 if missing); never replaces a file.
 * @throws RelayError INIT_EXISTS when something is already there
 */
export function writeNewFile(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') refuseExisting([path], `cannot write ${path}`, 'or choose another path');
    throw err;
  }
  try {
    writeAll(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` whole with `text` (same mode), through a new file renamed over it: a crash leaves the old or the new file. */
export function replaceFile(path: string, text: string): void {
  const mode = statSync(path).mode & 0o777;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true }); // left by a run that crashed with this pid
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeAll(fd, text);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
