// Vision: the bytes of the images the user sent with the messages being answered, read from the
// hub's own file store. An image whose bytes are still on their way is waited for (bounded); one
// that will not come, or is larger than the limit, is left out.
import type { HistoryEntry } from './history.js';
import type { ImageData } from './prompt.js';

/** What the hub holds of an incoming attachment. */
export type ImageLookup = { readonly state: 'pending' } | { readonly state: 'gone' } | { readonly state: 'ready'; readonly bytes: Buffer };

/** Where the bytes come from, how long to wait for them, and the limits. */
export interface ImageDeps {
  readonly lookup: (account: string, guid: string) => ImageLookup;
  /** Resolves when a file's state changed, after `ms` at most, or when the signal aborts. */
  readonly changed: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly waitMs: number;
  readonly maxBytes: number;
  /** At most this many images per request (the newest). */
  readonly maxImages: number;
}

/**
 * The bytes of the images of `entries` that the hub holds (at most `maxImages`, the newest), waiting
 * up to `waitMs` for those still on their way. Rejects with the signal's reason when aborted.
 */
export async function loadImages(account: string, entries: readonly HistoryEntry[], deps: ImageDeps, signal: AbortSignal): Promise<Map<string, ImageData>> {
  const wanted = entries.flatMap((e) => e.images).slice(-deps.maxImages);
  const out = new Map<string, ImageData>();
  const until = performance.now() + deps.waitMs;
  let pending = wanted;
  for (;;) {
    const still: typeof wanted = [];
    for (const img of pending) {
      const found = deps.lookup(account, img.guid);
      if (found.state === 'pending') still.push(img);
      else if (found.state === 'ready' && found.bytes.length <= deps.maxBytes) out.set(img.guid, { mime_type: img.mime_type, bytes: found.bytes });
    }
    const left = until - performance.now();
    if (still.length === 0 || left <= 0) return out;
    pending = still;
    await deps.changed(left, signal);
    if (signal.aborted) throw signal.reason;
  }
}
