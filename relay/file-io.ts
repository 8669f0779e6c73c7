// Small synchronous file helpers shared by the hub's vault, the Mac's staging and its uploads:
// positional reads and fsync'd positional writes, and a file's SHA-256.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync, constants as fsc } from 'node:fs';

/** SHA-256 of a file, read in 1 MiB pieces. */
export function hashFile(path: string): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/** Writes `data` at `offset` of `path` (created 0600 if missing) and fsyncs it: idempotent. */
export function writeAt(path: string, offset: number, data: Uint8Array): void {
  const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT, 0o600);
  try {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
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

  /** The file's size and SHA-256: from the chunks when they cover `size` bytes, else read from `path`. */
  take(key: string, path: string, size: number): { bytes: number; sha256: string } {
    const r = this.running.get(key);
    this.running.delete(key);
    return r !== undefined && r.bytes === size ? { bytes: size, sha256: r.hash.digest('hex') } : hashFile(path);
  }

  forget(key: string): void {
    this.running.delete(key);
  }
}
