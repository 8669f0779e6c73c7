// Incoming attachments' bytes to the hub (PROTOCOL.md §5). The reader's commit records each attachment
// of a new message; here each one is waited for until its file is complete on disk (its size matches
// chat.db's total_bytes, or stops changing), bounded by a deadline. Then its chunk items and a `file`
// item (size, SHA-256) are queued in the outbox in one transaction. A chunk item holds only where its
// bytes are; they are read when the item goes out, so the outbox never holds a second copy.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { readAt } from '../file-io.js';
import type { Logger } from '../logger.js';
import { FILE_CHUNK_BYTES, chunkCount, type IncomingFileStatus } from '../model/files.js';
import type { MacStore, NewOutboxItem, RawOutboxItem, UploadRow } from '../store/mac-store.js';

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
  /** Items were queued: the link may send them. */
  readonly onQueued: (status: IncomingFileStatus) => void;
}

interface StoredChunk { guid: string; index: number; path: string; offset: number; length: number }

async function sha256(path: string): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    h.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { bytes, sha: h.digest('hex') };
}

/** A chunk item as it goes on the wire: its bytes read now (empty if the file is gone: the hub's check then fails). */
export function chunkOnWire(item: RawOutboxItem, logger: Logger): RawOutboxItem {
  const c = JSON.parse(item.body) as StoredChunk;
  let data = '';
  try {
    data = readAt(c.path, c.offset, c.length).toString('base64');
  } catch (err) {
    logger.warn({ err: (err as Error).message, index: c.index }, 'an attachment chunk could not be read: the hub will mark the file corrupt');
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
    if (status !== 'complete') this.deps.logger.warn({ status }, `attachment not sent to the hub: ${error ?? status}`);
    else this.deps.logger.info({ bytes, chunks: items.length - 1 }, 'attachment queued for the hub');
    this.deps.onQueued(status);
  }

  private async look(u: UploadRow): Promise<void> {
    const { maxBytes, waitMs } = this.deps.options;
    const late = this.deps.clock.now() >= u.deadline;
    if (u.path === null) {
      if (late) this.finish(u, 'missing', 'Messages recorded no file for this attachment');
      return;
    }
    let size: number;
    try {
      const st = statSync(u.path);
      if (!st.isFile()) return this.finish(u, 'unreadable', 'not a regular file');
      size = st.size;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return this.finish(u, 'unreadable', `${code ?? 'error'}: the file cannot be read (Full Disk Access?)`);
      if (late) this.finish(u, 'missing', `the file did not appear within ${Math.round(waitMs / 1000)} s`);
      return;
    }
    if (size > maxBytes) return this.finish(u, 'too_large', `${size} bytes is more than the relay sends (${maxBytes})`, size);
    const complete = (u.expectedBytes !== null && u.expectedBytes > 0 && size === u.expectedBytes) || (size > 0 && size === u.lastSize) || (late && size > 0);
    if (!complete) {
      if (late) return this.finish(u, 'missing', `the file was still empty after ${Math.round(waitMs / 1000)} s`);
      this.deps.store.noteUploadSize(u.guid, size);
      return;
    }
    let got: { bytes: number; sha: string };
    try {
      got = await sha256(u.path);
    } catch (err) {
      return this.finish(u, 'unreadable', `${(err as NodeJS.ErrnoException).code ?? 'error'}: the file cannot be read`);
    }
    // Still being written (it grew while it was hashed): look again later.
    if (got.bytes !== size && !late) return this.deps.store.noteUploadSize(u.guid, got.bytes);
    if (got.bytes > maxBytes) return this.finish(u, 'too_large', `${got.bytes} bytes is more than the relay sends (${maxBytes})`, got.bytes);
    this.finish(u, 'complete', null, got.bytes, got.sha);
  }
}
