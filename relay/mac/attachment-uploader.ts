// Incoming attachments' bytes to the hub (PROTOCOL.md §5). The reader's commit records each attachment
// of a new message; here each one is waited for until its file is complete on disk (its size matches
// chat.db's total_bytes, or stops changing), bounded by a deadline. Then its chunk items and a `file`
// item (size, SHA-256) are queued in the outbox in one transaction. A chunk item holds only where its
// bytes are; they are read when the item goes out, so the outbox never holds a second copy.
// Every read goes through AttachmentRoots (attachment-paths.ts): only regular files under
// `attachments.roots`, never through a symbolic link; a refusal is reported to the hub with its reason.
import { createHash } from 'node:crypto';
import { closeSync, read } from 'node:fs';
import type { Clock } from '../clock.js';
import { readAtFd } from '../file-io.js';
import type { Logger } from '../logger.js';
import { FILE_CHUNK_BYTES, chunkCount, type IncomingFileStatus } from '../model/files.js';
import type { MacStore, NewOutboxItem, RawOutboxItem, UploadRow } from '../store/mac-store.js';
import type { AttachmentRoots } from './attachment-paths.js';

export interface UploaderOptions {
  /** Larger files are reported as too_large, not sent. */
  readonly maxBytes: number;
  /** How long a file that is not (completely) there yet is waited for. */
  readonly waitMs: number;
  /** How often waiting files are looked at. */
  readonly lookEveryMs: number;
}

export interface UploaderDeps {
  readonly store: MacStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: UploaderOptions;
  /** Where attachments may be read from. */
  readonly roots: AttachmentRoots;
  /** Items were queued: the link may send them. */
  readonly onQueued: (status: IncomingFileStatus) => void;
}

interface StoredChunk { guid: string; index: number; path: string; offset: number; length: number }

/** SHA-256 of an open file, read from its start in 1 MiB pieces without blocking the event loop. */
async function sha256(fd: number): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let bytes = 0;
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, bytes, (err, got) => (err ? reject(err) : resolve(got))));
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    bytes += n;
  }
  return { bytes, sha: h.digest('hex') };
}

/** The error code GET /v1/attachments/{guid} answers for a status (README "Error codes"). */
const codeOf = (status: IncomingFileStatus): string => `ATTACHMENT_${status.toUpperCase()}`;

/**
 * A chunk item as it goes on the wire: its bytes read now, through the same checks as when the file
 * was hashed (empty if the file is gone or refused: the hub's check then fails).
 */
export function chunkOnWire(item: RawOutboxItem, logger: Logger, roots: AttachmentRoots): RawOutboxItem {
  const c = JSON.parse(item.body) as StoredChunk;
  let data = '';
  const opened = roots.open(c.path);
  if (!opened.ok) {
    logger.warn({ code: opened.status === 'absent' ? 'ATTACHMENT_MISSING' : codeOf(opened.status), index: c.index }, `an attachment chunk could not be read (${opened.reason}): the hub will mark the file corrupt`);
  } else {
    try {
      data = readAtFd(opened.fd, c.offset, c.length).toString('base64');
    } catch (err) {
      logger.warn({ err: (err as NodeJS.ErrnoException).code ?? 'error', index: c.index }, 'an attachment chunk could not be read: the hub will mark the file corrupt');
    } finally {
      closeSync(opened.fd);
    }
  }
  return { ...item, body: JSON.stringify({ guid: c.guid, index: c.index, data }) };
}

export class AttachmentUploader {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: UploaderDeps) {}

  /** New attachments were recorded (or the daemon started): look now, then again while any wait. */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== null) { this.again = true; return; }
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.again) { this.again = false; this.wake(); return; }
      if (this.deps.store.waitingUploads(1).length > 0) this.timer = setTimeout(() => { this.timer = null; this.wake(); }, this.deps.options.lookEveryMs);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
  }

  private async round(): Promise<void> {
    for (const u of this.deps.store.waitingUploads()) {
      if (this.stopped) return;
      try {
        await this.look(u);
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'attachment upload could not be queued; will retry');
      }
    }
  }

  private finish(u: UploadRow, status: IncomingFileStatus, error: string | null, bytes: number | null = null, sha: string | null = null): void {
    const items: NewOutboxItem[] = [];
    if (status === 'complete' && bytes !== null && u.path !== null) {
      for (let i = 0; i < chunkCount(bytes); i++) {
        const offset = i * FILE_CHUNK_BYTES;
        items.push({ type: 'chunk', id: `chunk:${u.guid}:${i}`, body: { guid: u.guid, index: i, path: u.path, offset, length: Math.min(FILE_CHUNK_BYTES, bytes - offset) } });
      }
    }
    items.push({ type: 'file', id: `file:${u.guid}`, body: { guid: u.guid, name: u.name, mime_type: u.mimeType, bytes, sha256: sha, chunks: items.length, status, error } });
    this.deps.store.queueUpload(u.guid, items);
    if (status !== 'complete') {
      this.deps.logger.warn({ status, code: codeOf(status) }, `attachment not sent to the hub: ${error ?? status}`);
      this.deps.logger.debug({ status, path: u.path }, 'attachment not sent: its path');
    } else this.deps.logger.info({ bytes, chunks: items.length - 1 }, 'attachment queued for the hub');
    this.deps.onQueued(status);
  }

  private async look(u: UploadRow): Promise<void> {
    const { maxBytes, waitMs } = this.deps.options;
    const late = this.deps.clock.now() >= u.deadline;
    if (u.path === null) {
      if (late) this.finish(u, 'missing', 'Messages recorded no file for this attachment');
      return;
    }
    const opened = this.deps.roots.open(u.path);
    if (!opened.ok) {
      if (opened.status !== 'absent') return this.finish(u, opened.status, opened.reason);
      if (late) this.finish(u, 'missing', `the file did not appear within ${Math.round(waitMs / 1000)} s`);
      return;
    }
    const size = opened.size;
    const complete = (u.expectedBytes !== null && u.expectedBytes > 0 && size === u.expectedBytes) || (size > 0 && size === u.lastSize) || (late && size > 0);
    if (size > maxBytes || !complete) {
      closeSync(opened.fd);
      if (size > maxBytes) return this.finish(u, 'too_large', `${size} bytes is more than the relay sends (${maxBytes})`, size);
      if (late) return this.finish(u, 'missing', `the file was still empty after ${Math.round(waitMs / 1000)} s`);
      return this.deps.store.noteUploadSize(u.guid, size);
    }
    let got: { bytes: number; sha: string };
    try {
      got = await sha256(opened.fd);
    } catch (err) {
      return this.finish(u, 'unreadable', `${(err as NodeJS.ErrnoException).code ?? 'error'}: the file cannot be read`);
    } finally {
      closeSync(opened.fd);
    }
    // Still being written (it grew while it was hashed): look again later.
    if (got.bytes !== size && !late) return this.deps.store.noteUploadSize(u.guid, got.bytes);
    if (got.bytes > maxBytes) return this.finish(u, 'too_large', `${got.bytes} bytes is more than the relay sends (${maxBytes})`, got.bytes);
    this.finish(u, 'complete', null, got.bytes, got.sha);
  }
}
