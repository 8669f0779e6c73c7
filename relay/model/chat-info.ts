// A chat as the Mac describes it in its answers to the hub's `chats` query (chatdb/history.ts writes
// it, store/hub-chats.ts keeps it): the one shape both ends of the link agree on.

/** A chat of chat.db, with its ROWID as its stable id. */
export interface ChatInfo {
  /** The chat's chat.db ROWID. */
  readonly id: number;
  readonly guid: string;
  readonly identifier: string | null;
  readonly name: string | null;
  readonly service: string | null;
  readonly is_group: boolean;
  /** Handles of the other participants. */
  readonly participants: readonly string[];
  /** ISO 8601 date of its newest message, null when it has none. */
  readonly last_message_at: string | null;
}
