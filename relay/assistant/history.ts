// A chat's conversation as the model sees it, built from the hub's own stored events: the user's
// messages and the replies sent from the account, in order; an edit replaces a message's text, an
// unsend removes it; only the newest `max` messages are kept. Pure: no I/O.

/** One message of the conversation. */
export interface HistoryEntry {
  readonly role: 'user' | 'assistant';
  readonly guid: string;
  readonly seq: number;
  readonly text: string;
  /** The sender's handle (user messages; null for the account's own). */
  readonly sender: string | null;
  /** Image attachments (Apple guid and MIME type), whose bytes the hub may hold. */
  readonly images: ReadonlyArray<{ readonly guid: string; readonly mime_type: string }>;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function imagesOf(e: Record<string, unknown>): HistoryEntry['images'] {
  const list = Array.isArray(e['attachments']) ? (e['attachments'] as Array<Record<string, unknown>>) : [];
  return list.flatMap((a) => {
    const guid = str(a['guid']);
    const mime = str(a['mime_type']);
    return guid !== null && mime !== null && mime.startsWith('image/') ? [{ guid, mime_type: mime }] : [];
  });
}

/**
 * Replays stored events (oldest first; kinds message, from_me, edit, unsend) into the conversation
 * and keeps the newest `max` messages. A message with neither text nor image is left out.
 */
export function buildHistory(events: ReadonlyArray<{ seq: number; event: Record<string, unknown> }>, max: number): HistoryEntry[] {
  // A Map keeps insertion order: an edit overwrites in place, an unsend deletes.
  const byGuid = new Map<string, HistoryEntry>();
  for (const { seq, event: e } of events) {
    const guid = str(e['guid']);
    if (guid === null) continue;
    const kind = e['kind'];
    const known = byGuid.get(guid);
    if ((kind === 'message' || kind === 'from_me') && known === undefined) {
      byGuid.set(guid, { role: kind === 'message' ? 'user' : 'assistant', guid, seq, text: str(e['text']) ?? '', sender: kind === 'message' ? str(e['sender']) : null, images: imagesOf(e) });
    } else if (kind === 'edit' && known !== undefined) {
      byGuid.set(guid, { ...known, text: str(e['text']) ?? '' });
    } else if (kind === 'unsend') {
      byGuid.delete(guid);
    }
  }
  const kept = [...byGuid.values()].filter((x) => x.text.trim() !== '' || x.images.length > 0);
  return kept.slice(Math.max(0, kept.length - max));
}
