// Files the hub sends, staged where Messages (sandboxed) can read them (messages-app.md §4.1):
//   <root>/<command id>/.incoming      chunks written at their offsets as they arrive (fsync'd)
//   <root>/<command id>/<file name>    the checked file handed to send-file.js
// root defaults to ~/Library/Messages/Attachments/imessage-relay. A folder is removed once Messages
// is done with the file (sent and transferred, delivered, read or failed).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RelayError } from '../errors.js';
import { ChunkHashes, writeAt } from '../file-io.js';
import { FILE_CHUNK_BYTES, isUuid, safeFileName, type FileRef } from '../model/files.js';

const INCOMING = '.incoming';

export class AttachmentStaging {
  private readonly hashes = new ChunkHashes();

  constructor(readonly root: string, private readonly maxBytes: number) {}

  private dir(commandId: string): string {
    if (!isUuid(commandId)) throw new RelayError('STAGING_BAD_ID', `not a command id: ${JSON.stringify(String(commandId).slice(0, 60))}`);
    return join(this.root, commandId.toLowerCase());
  }

  /**
   * Writes one chunk of a command's file at its offset (idempotent: a resent chunk rewrites the same bytes).
   * @throws RelayError STAGING_BAD_CHUNK, STAGING_TOO_LARGE; file system errors (disk full) as they are
   */
  writeChunk(commandId: string, index: number, data: Buffer): void {
    if (!Number.isSafeInteger(index) || index < 0 || data.length > FILE_CHUNK_BYTES) throw new RelayError('STAGING_BAD_CHUNK', `bad file chunk ${index} (${data.length} bytes)`);
    if (index * FILE_CHUNK_BYTES + data.length > this.maxBytes) throw new RelayError('STAGING_TOO_LARGE', `the file is larger than this relay accepts (${this.maxBytes} bytes)`);
    const dir = this.dir(commandId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeAt(join(dir, INCOMING), index * FILE_CHUNK_BYTES, data);
    this.hashes.add(commandId, index, data);
  }

  /**
   * The staged file for a send, checked: size and SHA-256 as the hub announced them. Idempotent (a
   * file already checked and renamed is returned as it is).
   * @throws RelayError STAGING_TOO_LARGE (over `attachments.maxBytes`: its chunks were refused),
   *   STAGING_INCOMPLETE (bytes missing), STAGING_CORRUPT (they do not match)
   */
  prepare(commandId: string, file: FileRef): string {
    const dir = this.dir(commandId);
    if (file.bytes > this.maxBytes) throw new RelayError('STAGING_TOO_LARGE', `the file is ${file.bytes} bytes, more than this relay sends (attachments.maxBytes ${this.maxBytes})`);
    const final = join(dir, safeFileName(file.name));
    const incoming = join(dir, INCOMING);
    if (!existsSync(incoming) && existsSync(final) && statSync(final).size === file.bytes) return final;
    if (!existsSync(incoming)) throw new RelayError('STAGING_INCOMPLETE', 'no bytes of this file arrived from the hub');
    const got = this.hashes.take(commandId, incoming, statSync(incoming).size);
    if (got.bytes !== file.bytes) throw new RelayError('STAGING_INCOMPLETE', `${got.bytes} of ${file.bytes} bytes arrived`);
    if (got.sha256 !== file.sha256) throw new RelayError('STAGING_CORRUPT', `the file's SHA-256 does not match what the hub announced (${got.sha256.slice(0, 12)}… ≠ ${file.sha256.slice(0, 12)}…)`);
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
      if (now - statSync(join(this.root, name)).mtimeMs < idleMs) continue;
      rmSync(join(this.root, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
