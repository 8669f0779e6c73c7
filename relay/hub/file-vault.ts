// The hub's file bytes on disk (the rows describing them live in store/hub-files.ts):
//   out/<uuid>          files uploaded through the API, waiting to be sent by a relay
//   in/<key>            incoming attachments, complete and checked (key = sha256 of account + guid)
//   in/<key>.part       an incoming attachment while its chunks arrive (written at their offsets)
// Every write is fsync'd before the hub acknowledges it. Names never come from user input.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { RelayError } from '../errors.js';
import { readAt, writeAt, type ChunkHashes } from '../file-io.js';
import { FILE_CHUNK_BYTES, isUuid } from '../model/files.js';

export interface SavedFile { readonly id: string; readonly bytes: number; readonly sha256: string }
export interface FinishedFile { readonly ok: boolean; readonly error: string | null }

export class FileVault {
  private readonly outDir: string;
  private readonly inDir: string;

  constructor(root: string) {
    this.outDir = join(root, 'out');
    this.inDir = join(root, 'in');
    mkdirSync(this.outDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.inDir, { recursive: true, mode: 0o700 });
  }

  /**
   * Streams an upload to disk, hashing it on the way; nothing is kept if it is larger than `limit`
   * or the stream fails.
   * @throws RelayError FILE_TOO_LARGE, FILE_EMPTY
   */
  async save(source: AsyncIterable<Uint8Array>, limit: number): Promise<SavedFile> {
    const id = randomUUID();
    const tmp = join(this.outDir, `${id}.tmp`);
    const h = createHash('sha256');
    const f = await open(tmp, 'wx', 0o600);
    let bytes = 0;
    try {
      for await (const chunk of source) {
        bytes += chunk.length;
        if (bytes > limit) throw new RelayError('FILE_TOO_LARGE', `the file is larger than ${limit} bytes`, { limit });
        h.update(chunk);
        await f.write(chunk);
      }
      if (bytes === 0) throw new RelayError('FILE_EMPTY', 'the file is empty');
      await f.sync();
      await f.close();
      renameSync(tmp, join(this.outDir, id));
      return { id, bytes, sha256: h.digest('hex') };
    } catch (err) {
      await f.close().catch(() => undefined);
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** An uploaded file's path, or null (unknown id, or removed). */
  uploaded(id: string): string | null {
    if (!isUuid(id)) return null;
    const p = join(this.outDir, id.toLowerCase());
    return existsSync(p) ? p : null;
  }

  /** Chunk `index` of an uploaded file (empty when the file is gone: the relay's check then fails loudly). */
  uploadChunk(id: string, index: number): Buffer {
    const p = this.uploaded(id);
    if (p === null) return Buffer.alloc(0);
    return readAt(p, index * FILE_CHUNK_BYTES, FILE_CHUNK_BYTES);
  }

  private inKey(account: string, guid: string): string {
    return createHash('sha256').update(`${account}\u0000${guid}`).digest('hex');
  }

  /** Path of a complete incoming attachment (whether or not it exists yet). */
  incomingPath(account: string, guid: string): string {
    return join(this.inDir, this.inKey(account, guid));
  }

  /** Stores one chunk of an incoming attachment at its offset. */
  writeIncomingChunk(account: string, guid: string, index: number, data: Uint8Array): void {
    writeAt(`${this.incomingPath(account, guid)}.part`, index * FILE_CHUNK_BYTES, data);
  }

  /**
   * All chunks are in: checks size and SHA-256 and makes the file available, or says why not.
   * Idempotent: a file already finished (and no new part since) stays as it is.
   */
  finishIncoming(account: string, guid: string, bytes: number, sha256: string, hashes: ChunkHashes, key: string): FinishedFile {
    const final = this.incomingPath(account, guid);
    const part = `${final}.part`;
    if (!existsSync(part)) {
      hashes.forget(key);
      if (existsSync(final) && statSync(final).size === bytes) return { ok: true, error: null };
      if (bytes === 0) { writeAt(final, 0, new Uint8Array(0)); return { ok: true, error: null }; }
      return { ok: false, error: 'no bytes arrived for this attachment' };
    }
    const got = hashes.take(key, part, statSync(part).size);
    if (got.bytes !== bytes || got.sha256 !== sha256) {
      rmSync(part, { force: true });
      return { ok: false, error: `the bytes that arrived do not match (${got.bytes} bytes, sha256 ${got.sha256.slice(0, 12)}…; expected ${bytes} bytes, ${sha256.slice(0, 12)}…)` };
    }
    renameSync(part, final);
    return { ok: true, error: null };
  }

  /** Removes files (uploads by id, incoming by account and guid). */
  removeUpload(id: string): void {
    if (isUuid(id)) rmSync(join(this.outDir, id.toLowerCase()), { force: true });
  }

  removeIncoming(account: string, guid: string): void {
    const p = this.incomingPath(account, guid);
    rmSync(p, { force: true });
    rmSync(`${p}.part`, { force: true });
  }
}
