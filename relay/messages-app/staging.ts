// Files the hub sends, staged where Messages (sandboxed) can read them (messages-app.md §4.1):
//   <root>/<command id>/.incoming      chunks written at their offsets as they arrive (fsync'd)
//   <root>/<command id>/<file name>    the checked file handed to send-file.js
// root defaults to ~/Library/Messages/Attachments/imessage-relay. A folder is removed once Messages
// is done with the file (sent and transferred, delivered, read or failed). Nothing is written or
// read through a symbolic link planted below the root: such a link is removed, not followed.
import { closeSync, constants as fsc, existsSync, fstatSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { RelayError } from '../errors.js';
import { ChunkHashes, hashFd, openRegular, writeAtFd } from '../file-io.js';
import { FILE_CHUNK_BYTES, isUuid, safeFileName, type FileRef } from '../model/files.js';

const INCOMING = '.incoming';

/** lstat, or null when nothing is there. */
function entry(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Removes whatever is at `path` unless it is a regular file (a link is removed, never followed). */
function keepOnlyFile(path: string): Stats | null {
  const st = entry(path);
  if (st === null || st.isFile()) return st;
  rmSync(path, { recursive: true, force: true });
  return null;
}

export class AttachmentStaging {
  private readonly hashes = new ChunkHashes();

  constructor(readonly root: string, private readonly maxBytes: number) {}

  private dir(commandId: string): string {
    if (!isUuid(commandId)) throw new RelayError('STAGING_BAD_ID', `not a command id: ${JSON.stringify(String(commandId).slice(0, 60))}`);
    return join(this.root, commandId.toLowerCase());
  }

  /**
   * Writes one chunk of a command's file at its offset (idempotent: a resent chunk rewrites the same bytes).
   * @throws RelayError STAGING_BAD_CHUNK, STAGING_TOO_LARGE, STAGING_UNSAFE; file system errors (disk full) as they are
   */
  writeChunk(commandId: string, index: number, data: Buffer): void {
    if (!Number.isSafeInteger(index) || index < 0 || data.length > FILE_CHUNK_BYTES) throw new RelayError('STAGING_BAD_CHUNK', `bad file chunk ${index} (${data.length} bytes)`);
    if (index * FILE_CHUNK_BYTES + data.length > this.maxBytes) throw new RelayError('STAGING_TOO_LARGE', `the file is larger than this relay accepts (${this.maxBytes} bytes)`);
    const dir = this.folder(commandId);
    const fd = this.open(dir, INCOMING, fsc.O_WRONLY | fsc.O_CREAT);
    try {
      writeAtFd(fd, index * FILE_CHUNK_BYTES, data);
    } finally {
      closeSync(fd);
    }
    this.hashes.add(commandId, index, data);
  }

  /** The command's folder, created 0700; something else at its name (a link, a file) is removed first. */
  private folder(commandId: string): string {
    const dir = this.dir(commandId);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const st = entry(dir);
    if (st !== null && !st.isDirectory()) rmSync(dir, { force: true });
    if (st === null || !st.isDirectory()) mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /**
   * Opens `<dir>/<name>` (O_NOFOLLOW: a link there is refused) and checks that the file opened is the
   * one at the folder's real place below the root, so no link swapped in on the way was followed.
   * @throws RelayError STAGING_UNSAFE
   */
  private open(dir: string, name: string, flags: number): number {
    keepOnlyFile(join(dir, name));
    let fd: number;
    try {
      fd = openRegular(join(dir, name), flags);
    } catch (err) {
      throw new RelayError('STAGING_UNSAFE', `a staged file could not be opened safely (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      const real = realpathSync(dir);
      const there = lstatSync(join(real, name));
      const opened = fstatSync(fd);
      if (real !== join(realpathSync(this.root), basename(dir)) || there.ino !== opened.ino || there.dev !== opened.dev) {
        throw new RelayError('STAGING_UNSAFE', 'a staged file is not where it should be (a symbolic link on its path?)');
      }
      return fd;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * The staged file for a send, checked: size and SHA-256 as the hub announced them. Idempotent (a
   * file already checked and renamed is hashed again and returned if its bytes still match).
   * @throws RelayError STAGING_TOO_LARGE (over `attachments.maxBytes`: its chunks were refused),
   *   STAGING_INCOMPLETE (bytes missing), STAGING_CORRUPT (they do not match),
   *   STAGING_UNSAFE (a link swapped in while the file was opened)
   */
  prepare(commandId: string, file: FileRef): string {
    const dir = this.folder(commandId);
    if (file.bytes > this.maxBytes) throw new RelayError('STAGING_TOO_LARGE', `the file is ${file.bytes} bytes, more than this relay sends (attachments.maxBytes ${this.maxBytes})`);
    const name = safeFileName(file.name);
    const final = join(dir, name);
    const incoming = join(dir, INCOMING);
    if (keepOnlyFile(incoming) === null) {
      // Checked and renamed before (a restart, a retry): reused only if its bytes are still the ones announced.
      if (keepOnlyFile(final) === null) throw new RelayError('STAGING_INCOMPLETE', 'no bytes of this file arrived from the hub');
      const fd = this.open(dir, name, fsc.O_RDONLY);
      let got: { bytes: number; sha256: string };
      try {
        got = hashFd(fd);
      } finally {
        closeSync(fd);
      }
      if (got.bytes === file.bytes && got.sha256 === file.sha256) return final;
      rmSync(final, { force: true });
      throw new RelayError('STAGING_CORRUPT', `the staged file changed since it was checked (${got.bytes} bytes, ${got.sha256.slice(0, 12)}…; expected ${file.bytes}, ${file.sha256.slice(0, 12)}…)`);
    }
    const fd = this.open(dir, INCOMING, fsc.O_RDONLY);
    let got: { bytes: number; sha256: string };
    try {
      got = this.hashes.take(commandId, fd, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
    if (got.bytes !== file.bytes) throw new RelayError('STAGING_INCOMPLETE', `${got.bytes} of ${file.bytes} bytes arrived`);
    if (got.sha256 !== file.sha256) throw new RelayError('STAGING_CORRUPT', `the file's SHA-256 does not match what the hub announced (${got.sha256.slice(0, 12)}… ≠ ${file.sha256.slice(0, 12)}…)`);
    // rename() replaces whatever is at the final name (a planted link included) without following it.
    if (entry(final)?.isDirectory() === true) rmSync(final, { recursive: true, force: true });
    renameSync(incoming, final);
    return final;
  }

  /** Removes a command's staging folder (Messages is done with the file). */
  remove(commandId: string): void {
    this.hashes.forget(commandId);
    if (isUuid(commandId)) rmSync(join(this.root, commandId.toLowerCase()), { recursive: true, force: true });
  }

  /**
   * Removes staging folders of commands not in `keep` and untouched for `idleMs` (finished while the
   * relay was down, or `unknown` sends Messages had time to read). Younger ones may be chunks whose
   * send command is still on its way.
   */
  sweep(keep: ReadonlySet<string>, idleMs: number, now: number): number {
    if (!existsSync(this.root)) return 0;
    let removed = 0;
    for (const name of readdirSync(this.root)) {
      if (!isUuid(name) || keep.has(name)) continue;
      if (now - lstatSync(join(this.root, name)).mtimeMs < idleMs) continue;
      rmSync(join(this.root, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
