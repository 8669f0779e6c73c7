// Incoming attachments on the gateway host (contract §8.1): fetched from the hub's
// GET /v1/attachments/{guid} into `attachmentsRoot/<guid>/<name>`, written under a temporary name and
// renamed into place before any line names the file; `missing: true` when the bytes do not come.
import { lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HubClient } from './hub-client.js';
import { missingAttachment, type EventAttachmentRef, type MessageAttachment } from './message-map.js';

export interface AttachmentDeps {
  readonly hub: HubClient;
  readonly root: string;
  /** How long to keep asking while the hub says the bytes are on their way (503 ATTACHMENT_PENDING). */
  readonly pendingWaitMs: number;
  readonly signal?: AbortSignal;
}

/** A file name that stays one path segment (no separators, no dot-names, bounded). */
export function safeSegment(name: string, fallback: string): string {
  const clean = name.replace(/[\u0000-\u001f/\\]/g, '_').replace(/^\.+/, '_').slice(0, 200);
  return clean === '' ? fallback : clean;
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener on the signal behind. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const end = (): void => { clearTimeout(t); signal?.removeEventListener('abort', end); resolve(); };
    const t = setTimeout(end, ms);
    signal?.addEventListener('abort', end, { once: true });
  });
}

/** A regular file (not a link) already at `path`. */
function present(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** The attachment as the message object carries it, its file complete on disk (or `missing: true`). */
export async function materialise(ref: EventAttachmentRef, deps: AttachmentDeps): Promise<MessageAttachment> {
  if (ref.url === null || ref.guid === '') return missingAttachment(ref);
  const dir = join(deps.root, safeSegment(ref.guid, 'attachment'));
  const path = join(dir, safeSegment(ref.name ?? 'attachment', 'attachment'));
  const done = (): MessageAttachment => ({ ...missingAttachment(ref), original_path: path, missing: false });
  if (present(path)) return done();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
  } catch {
    return missingAttachment(ref); // attachmentsRoot not writable: the message still goes out, its file marked missing
  }
  const until = Date.now() + deps.pendingWaitMs;
  for (;;) {
    const temp = join(dir, `.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
    try {
      const answer = await deps.hub.download(ref.url, temp, { timeoutMs: 60_000, ...(deps.signal === undefined ? {} : { signal: deps.signal }) });
      if (answer.status === 200) {
        renameSync(temp, path);
        return done();
      }
      rmSync(temp, { force: true });
      if (answer.status !== 503 && answer.status !== 404) return missingAttachment(ref);
      const retry = Number(answer.headers['retry-after']);
      if (Date.now() >= until || deps.signal?.aborted === true) return missingAttachment(ref);
      await abortableSleep(Math.min(Number.isFinite(retry) && retry > 0 ? retry * 1000 : 200, 500, Math.max(0, until - Date.now())), deps.signal);
    } catch {
      rmSync(temp, { force: true });
      return missingAttachment(ref);
    }
  }
}
