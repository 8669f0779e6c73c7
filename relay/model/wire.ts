// What crosses the link between a Mac and the hub: outbox items and commands (see PROTOCOL.md §4).

/** An item of the Mac's outbox: an event for the hub, or the result of a command. */
export interface OutboxItem {
  readonly seq: number;
  readonly type: 'event' | 'result';
  readonly id: string;
  readonly body: Record<string, unknown>;
}

/** A command from the hub to a Mac. */
export interface CommandItem {
  readonly seq: number;
  readonly id: string;
  readonly body: Record<string, unknown>;
}
