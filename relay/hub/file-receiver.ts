// Incoming attachment bytes from a relay (PROTOCOL.md §5): `chunk` items are written at their offsets,
// a `file` item ends the file, whose size and SHA-256 are checked before it is served. Runs before
// the items are stored, so what the hub acknowledges is on disk. A bad chunk is refused and logged,
// never trusted: the file it belongs to ends `corrupt`.
import { ChunkHashes } from '../file-io.js';
import type { Logger } from '../logger.js';
import { FILE_CHUNK_BYTES, isSha256Hex } from '../model/files.js';
import type { OutboxItem } from '../model/wire.js';
import type { FileOutcome } from '../store/hub-events.js';
import type { FileState } from '../store/hub-files.js';
import type { FileVault } from './file-vault.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const RELAY_STATES: Record<string, FileState> = {
  too_large: 'too_large', missing: 'missing', unreadable: 'unreadable', disabled: 'disabled',
  outside_root: 'outside_root', symlink: 'symlink', not_regular: 'not_regular',
};

export class FileReceiver {
  private readonly hashes = new ChunkHashes();

  constructor(private readonly vault: FileVault, private readonly maxBytes: number, private readonly logger: Logger) {}

  /** Handles the chunk and file items above `acked`; returns what became of each file (by guid). */
  receive(account: string, items: readonly OutboxItem[], acked: number): Map<string, FileOutcome> {
    const outcomes = new Map<string, FileOutcome>();
    for (const it of items) {
      if (it.seq <= acked || (it.type !== 'chunk' && it.type !== 'file')) continue;
      const b = it.body;
      const guid = b['guid'];
      if (typeof guid !== 'string' || guid === '' || guid.length > 300) {
        this.logger.warn({ account, seq: it.seq, type: it.type }, 'file item without a usable guid: ignored');
        continue;
      }
      if (it.type === 'chunk') this.chunk(account, guid, b);
      else outcomes.set(guid, this.finish(account, guid, b));
    }
    return outcomes;
  }

  private chunk(account: string, guid: string, b: Record<string, unknown>): void {
    const index = b['index'];
    const data = b['data'];
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || typeof data !== 'string' || !BASE64.test(data)) {
      this.logger.warn({ account }, 'malformed attachment chunk: ignored (the file will not check out)');
      return;
    }
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > FILE_CHUNK_BYTES || index * FILE_CHUNK_BYTES + bytes.length > this.maxBytes) {
      this.logger.warn({ account, index, bytes: bytes.length }, 'attachment chunk beyond the size limit: ignored');
      return;
    }
    this.vault.writeIncomingChunk(account, guid, index, bytes);
    this.hashes.add(`${account}\u0000${guid}`, index, bytes);
  }

  private finish(account: string, guid: string, b: Record<string, unknown>): FileOutcome {
    const status = b['status'];
    const key = `${account}\u0000${guid}`;
    const refuse = (): void => { this.hashes.forget(key); this.vault.removeIncoming(account, guid); };
    if (status !== 'complete') {
      refuse();
      const state = RELAY_STATES[String(status)] ?? 'corrupt';
      return { state, error: typeof b['error'] === 'string' ? b['error'] : `the relay could not send it (${String(status)})` };
    }
    const bytes = b['bytes'];
    const sha = b['sha256'];
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0 || !isSha256Hex(sha)) {
      refuse();
      return { state: 'corrupt', error: 'the relay sent no usable size or sha256' };
    }
    if (bytes > this.maxBytes) {
      refuse();
      return { state: 'too_large', error: `${bytes} bytes is more than the hub accepts (${this.maxBytes})` };
    }
    const done = this.vault.finishIncoming(account, guid, bytes, sha, this.hashes, key);
    if (!done.ok) this.logger.warn({ account, bytes }, `attachment refused: ${done.error ?? ''}`);
    return done.ok ? { state: 'ready', error: null } : { state: 'corrupt', error: done.error };
  }
}
