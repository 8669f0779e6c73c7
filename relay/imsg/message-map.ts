// The message object of contract §5, made from a hub event (README "The event format", with the
// chat's `id` and the hub's attachment `url`): snake_case, strings that do not apply omitted, arrays
// always present, exact JSON types. Also the `reactions` entries of messages.history (§4.2).

/** One attachment as the command writes it (§8.1); strings omitted when unknown. */
export interface MessageAttachment {
  readonly original_path?: string;
  readonly mime_type?: string;
  readonly missing: boolean;
  readonly transfer_name?: string;
  readonly filename?: string;
  readonly uti?: string;
  readonly total_bytes?: number;
  readonly is_sticker: boolean;
}

/** An attachment of a hub event, as far as the command needs it. */
export interface EventAttachmentRef {
  readonly guid: string;
  readonly name: string | null;
  readonly mime_type: string | null;
  readonly uti: string | null;
  readonly bytes: number | null;
  readonly url: string | null;
  readonly missing: boolean;
}

type Json = Record<string, unknown>;

const REACTION_TYPES: Record<string, string> = {
  love: 'love', like: 'like', dislike: 'dislike', laugh: 'laugh', emphasis: 'emphasis', question: 'question', emoji: 'custom', sticker: 'custom',
};
const EMOJI: Record<string, string> = { love: '❤️', like: '👍', dislike: '👎', laugh: '😂', emphasis: '‼️', question: '❓' };
const VERBS: Record<string, string> = {
  love: 'Loved', like: 'Liked', dislike: 'Disliked', laugh: 'Laughed at', emphasis: 'Emphasized', question: 'Questioned', custom: 'Reacted to',
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);

/** Sets `key` only when `value` is defined (strings that do not apply are omitted, §5). */
function put(out: Json, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value;
}

/** The attachments of an event (kinds message/from_me), as references to fetch. */
export function attachmentRefs(event: Json): EventAttachmentRef[] {
  const list = Array.isArray(event['attachments']) ? (event['attachments'] as unknown[]) : [];
  return list.filter((a): a is Json => typeof a === 'object' && a !== null).map((a) => ({
    guid: String(a['guid'] ?? ''), name: str(a['name']) ?? null, mime_type: str(a['mime_type']) ?? null, uti: str(a['uti']) ?? null,
    bytes: int(a['bytes']) ?? null, url: str(a['url']) ?? null, missing: a['missing'] === true,
  }));
}

/** An attachment whose bytes are not on this host (`missing: true`, no path). */
export function missingAttachment(ref: EventAttachmentRef): MessageAttachment {
  const out: Json = { missing: true };
  put(out, 'mime_type', ref.mime_type ?? undefined);
  put(out, 'transfer_name', ref.name ?? undefined);
  put(out, 'filename', ref.name ?? undefined);
  put(out, 'uti', ref.uti ?? undefined);
  put(out, 'total_bytes', ref.bytes ?? undefined);
  out['is_sticker'] = false;
  return out as unknown as MessageAttachment;
}

/** The rowid of a hub event (the message id), or null when it has none. */
export function rowidOf(event: Json): number | null {
  const v = event['rowid'];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/**
 * The §5 message for a hub event of kind `message`, `from_me` or `reaction`; `attachments` are the
 * materialised ones (empty when the caller did not ask for them).
 */
export function toMessage(event: Json, attachments: readonly MessageAttachment[]): Json {
  const chat = (typeof event['chat'] === 'object' && event['chat'] !== null ? event['chat'] : {}) as Json;
  const isReaction = event['kind'] === 'reaction';
  const fromMe = event['kind'] === 'from_me' || (isReaction && (event['sender'] === null || event['from_me'] === true));
  const participants = Array.isArray(chat['participants']) ? (chat['participants'] as unknown[]).filter((p): p is string => typeof p === 'string') : [];
  // A from-me row names no sender: imsg then gives the other party of a DM (the chat's identifier).
  const sender = str(event['sender']) ?? str(chat['identifier']) ?? participants[0] ?? 'me';
  const out: Json = {
    id: rowidOf(event) ?? 0,
    chat_id: int(chat['id']) ?? 0,
    guid: String(event['guid'] ?? ''),
    sender,
    is_from_me: fromMe,
  };
  put(out, 'created_at', str(event['date']));
  out['is_group'] = chat['is_group'] === true;
  put(out, 'chat_identifier', str(chat['identifier']));
  put(out, 'chat_guid', str(chat['guid']));
  put(out, 'chat_name', str(chat['name']));
  out['participants'] = participants;
  put(out, 'service', str(event['service']));
  if (isReaction) {
    const type = REACTION_TYPES[String(event['reaction'])] ?? 'custom';
    const added = event['removed'] !== true;
    const emoji = str(event['emoji']) ?? EMOJI[type];
    out['text'] = added ? `${VERBS[type]} a message` : `Removed a ${type === 'custom' ? 'reaction' : type} from a message`;
    out['is_reaction'] = true;
    out['reaction_type'] = type;
    put(out, 'reaction_emoji', emoji);
    out['is_reaction_add'] = added;
    put(out, 'reacted_to_guid', str(event['target_guid'])?.replace(/^p:\d+\//, ''));
    out['attachments'] = [];
    return out;
  }
  put(out, 'text', typeof event['text'] === 'string' ? event['text'] : undefined);
  put(out, 'reply_to_guid', str(event['reply_to']));
  put(out, 'thread_originator_guid', str(event['reply_to']));
  out['attachments'] = attachments;
  return out;
}

/** History's `reactions` entries (§4.2) from the hub's `[{rowid, guid, reaction, emoji, sender, from_me, date}]`. */
export function toReactions(list: unknown): Json[] {
  if (!Array.isArray(list)) return [];
  return list.filter((r): r is Json => typeof r === 'object' && r !== null).map((r) => {
    const type = REACTION_TYPES[String(r['reaction'])] ?? 'custom';
    const out: Json = { id: int(r['rowid']) ?? 0, type, emoji: str(r['emoji']) ?? EMOJI[type] ?? '', sender: str(r['sender']) ?? 'me', is_from_me: r['from_me'] === true };
    put(out, 'created_at', str(r['date']));
    return out;
  });
}
