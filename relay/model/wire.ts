// What crosses the link between a Mac and the hub: outbox items and commands (see PROTOCOL.md §4).

/**
 * An item of the Mac's outbox: an event for the hub, the result of a command, a chunk of an incoming
 * attachment's bytes (`{guid, index, data}`, base64) or the end of one (`{guid, status, sha256, …}`).
 */
export type OutboxItemType = 'event' | 'result' | 'chunk' | 'file';

export interface OutboxItem {
  readonly seq: number;
  readonly type: OutboxItemType;
  readonly id: string;
  readonly body: Record<string, unknown>;
}

/** A command from the hub to a Mac. */
export interface CommandItem {
  readonly seq: number;
  readonly id: string;
  readonly body: Record<string, unknown>;
}

/**
 * The largest item (its body as JSON, in UTF-8 bytes) a side stores, sends or accepts, unless its
 * config's `link.maxItemBytes` says otherwise: far below the link's 64 MiB message limit, so no item
 * can ever stop the link (PROTOCOL.md §4.2).
 */
export const DEFAULT_MAX_ITEM_BYTES = 4 * 1024 * 1024;

/** Why a side refused one item (PROTOCOL.md §4.2): the item is not stored and the link stays up. */
export interface ItemRefusal {
  readonly seq: number;
  /** A stable code, e.g. `ITEM_TOO_LARGE`. */
  readonly code: string;
  readonly message: string;
}

/**
 * The UTF-8 size of a JSON text when it is over `limit`, else null. Counted only when the text could
 * be over: each UTF-16 unit is at most 3 bytes.
 */
export function bytesOver(json: string, limit: number): number | null {
  if (json.length * 3 <= limit) return null;
  const bytes = Buffer.byteLength(json, 'utf8');
  return bytes > limit ? bytes : null;
}

/** Why an item over a side's limit is refused (code ITEM_TOO_LARGE). */
export function tooLarge(what: string, bytes: number, limit: number, side: 'relay' | 'hub'): Omit<ItemRefusal, 'seq'> {
  return { code: 'ITEM_TOO_LARGE', message: `${what} of ${bytes} bytes is over the ${side}'s limit of ${limit} bytes (link.maxItemBytes)` };
}
