// The public event format (NDJSON, snake_case, every field present, null when unknown).
// It is what flows from the Mac to the hub and on to assistants; README.md documents it.

export interface ChatRef {
  readonly guid: string;
  /** The chat's chat.db `chat.ROWID` on the Mac: its stable integer id (null only if unknown). */
  readonly id: number | null;
  readonly identifier: string | null;
  readonly name: string | null;
  readonly is_group: boolean;
  /** Handles of the other participants (never the local user). */
  readonly participants: readonly string[];
}

export interface EventAttachment {
  readonly guid: string;
  readonly name: string | null;
  readonly mime_type: string | null;
  readonly uti: string | null;
  readonly bytes: number | null;
  /** Absolute path on the Mac (`~` expanded), or null when Messages recorded none. */
  readonly path: string | null;
  /** True when the file is not (yet) on disk. */
  readonly missing: boolean;
}

export interface Mention {
  readonly handle: string;
  readonly text: string;
}

export interface DecodeErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly offset: number | null;
}

/** Fields every event carries. */
export interface CommonFields {
  readonly rowid: number;
  readonly guid: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly date: string | null;
  readonly service: string | null;
  /** Sender's handle; null for rows from the local user. */
  readonly sender: string | null;
  readonly chat: ChatRef | null;
  /** True when the row was already old when first seen (iCloud sync, push recovery). */
  readonly backlog: boolean;
}

export interface MessageEvent extends CommonFields {
  readonly kind: 'message';
  readonly text: string | null;
  readonly attachments: readonly EventAttachment[];
  readonly reply_to: string | null;
  readonly mentions: readonly Mention[];
  readonly decode_error: DecodeErrorInfo | null;
  /** True when the text, or the attachments or mentions, were cut to their limits (model/event-limits.ts); false normally. */
  readonly truncated: boolean;
}

export interface FromMeEvent extends Omit<MessageEvent, 'kind'> {
  readonly kind: 'from_me';
  readonly is_sent: boolean;
  /** Messages' error code for a failed send, null when none. */
  readonly error: number | null;
  /** The relay's command that sent this row; null when the user sent it (any device). */
  readonly command_id: string | null;
}

export type ReactionName = 'love' | 'like' | 'dislike' | 'laugh' | 'emphasis' | 'question' | 'emoji' | 'sticker';

export interface ReactionEvent extends CommonFields {
  readonly kind: 'reaction';
  readonly reaction: ReactionName;
  readonly emoji: string | null;
  readonly removed: boolean;
  readonly target_guid: string | null;
  readonly target_part: number | null;
}

export interface EditEvent extends CommonFields {
  readonly kind: 'edit';
  readonly text: string | null;
  readonly edited_at: string | null;
  /** True when the new text was cut to its limit (model/event-limits.ts); false normally. */
  readonly truncated: boolean;
}

export interface UnsendEvent extends CommonFields {
  readonly kind: 'unsend';
  readonly unsent_at: string | null;
}

export type GroupAction = 'renamed' | 'member_added' | 'member_removed' | 'member_left' | 'photo_changed';

export interface GroupEvent extends CommonFields {
  readonly kind: 'group';
  readonly action: GroupAction;
  readonly name: string | null;
  readonly member: string | null;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface DeliveryEvent extends CommonFields {
  readonly kind: 'delivery';
  readonly status: DeliveryStatus;
  readonly error: number | null;
}

export type RelayEvent =
  | MessageEvent | FromMeEvent | ReactionEvent | EditEvent | UnsendEvent | GroupEvent | DeliveryEvent;

export type EventKind = RelayEvent['kind'];
