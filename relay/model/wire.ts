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
