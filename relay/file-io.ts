// Small synchronous file helpers shared by the hub's vault, the Mac's staging and its uploads:
// positional reads and fsync'd positional writes, and a file's SHA-256. None of them follows a
// symbolic link in the last part of a path, or blocks on a FIFO put where a file was expected.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync, constants as fsc } from 'node:fs';

/** Flags that make open() fail (ELOOP) on a symbolic link and return at once on a FIFO or device. */
export const NO_FOLLOW = fsc.O_NOFOLLOW | fsc.O_NONBLOCK | (fsc.O_NOCTTY ?? 0);

/**
 * Opens a regular file with `flags` plus {@link NO_FOLLOW}.
 * @throws ELOOP (a link), ENOTREG-coded Error (not a regular file), or the open error as it is
 */
export function openRegular(path: string, flags: number, mode = 0o600): number {
  const fd = openSync(path, flags | NO_FOLLOW, mode);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw Object.assign(new Error(`not a regular file: ${path}`), { code: 'ENOTREG' });
  }
  return fd;
}

/** SHA-256 of a file, read in 1 MiB pieces. */
export function hashFile(path: string): { bytes: number; sha256: string } {
  const fd = openRegular(path, fsc.O_RDONLY);
  try {
    return hashFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 of an open file, from its start (positional reads). */
export function hashFd(fd: number): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let bytes = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, bytes);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    bytes += n;
  }
  return { bytes, sha256: h.digest('hex') };
}

/** Writes `data` at `offset` of `path` (created 0600 if missing, never through a link) and fsyncs it: idempotent. */
export function writeAt(path: string, offset: number, data: Uint8Array): void {
  const fd = openRegular(path, fsc.O_WRONLY | fsc.O_CREAT);
  try {
    writeAtFd(fd, offset, data);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` at `offset` of an open file and fsyncs it. */
export function writeAtFd(fd: number, offset: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
  fsyncSync(fd);
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openRegular(path, fsc.O_RDONLY);
  try {
    return readAtFd(fd, offset, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `offset` of an open file (fewer at its end). */
export function readAtFd(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * SHA-256 of files written chunk by chunk, taken as the chunks arrive in order (index 0, 1, 2, …),
 * so the finished file need not be read again. A gap or a chunk written again (its bytes may differ)
 * forgets the file: it is then hashed from disk.
 */
export class ChunkHashes {
  private readonly running = new Map<string, { readonly hash: Hash; next: number; bytes: number }>();

  add(key: string, index: number, data: Uint8Array): void {
    if (index === 0) this.running.set(key, { hash: createHash('sha256'), next: 0, bytes: 0 });
    const r = this.running.get(key);
    if (r === undefined || index !== r.next) { this.running.delete(key); return; }
    r.hash.update(data);
    r.next++;
    r.bytes += data.length;
  }

  /** The file's size and SHA-256: from the chunks when they cover `size` bytes, else read from `file` (a path or an open fd). */
  take(key: string, file: string | number, size: number): { bytes: number; sha256: string } {
    const r = this.running.get(key);
    this.running.delete(key);
    if (r !== undefined && r.bytes === size) return { bytes: size, sha256: r.hash.digest('hex') };
    return typeof file === 'number' ? hashFd(file) : hashFile(file);
  }

  forget(key: string): void {
    this.running.delete(key);
  }
}
