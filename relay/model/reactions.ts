// Tapbacks added up on the messages they target, as a chat's history shows them: each reaction row in
// ROWID order adds or (a `removed` row) takes back one person's tapback of one kind.

/** A tapback on a message, net of removals (history's `reactions` list). */
export interface NetReaction {
  /** chat.db ROWID and guid of the row that added it. */
  readonly rowid: number;
  readonly guid: string;
  readonly reaction: string;
  readonly emoji: string | null;
  /** Who reacted (null for the local user). */
  readonly sender: string | null;
  readonly from_me: boolean;
  readonly date: string | null;
}

/** The fields of a reaction row (a `reaction` event, plus whether the local user made it). */
export interface ReactionRow {
  readonly rowid: number;
  readonly guid: string;
  readonly reaction: string;
  readonly emoji: string | null;
  readonly removed: boolean;
  readonly target_guid: string | null;
  readonly sender: string | null;
  readonly from_me: boolean;
  readonly date: string | null;
}

/**
 * The tapbacks left standing on each target guid, in the order they were added. A removal takes back
 * the same person's tapback of the same kind (and emoji); rows need not come sorted.
 */
export function netReactions(rows: readonly ReactionRow[]): Map<string, NetReaction[]> {
  const standing = new Map<string, Map<string, NetReaction>>();
  for (const r of [...rows].sort((a, b) => a.rowid - b.rowid)) {
    if (r.target_guid === null) continue;
    const key = `${r.from_me ? '\u0000me' : r.sender ?? ''}\u0000${r.reaction}\u0000${r.emoji ?? ''}`;
    let onTarget = standing.get(r.target_guid);
    if (onTarget === undefined) {
      onTarget = new Map();
      standing.set(r.target_guid, onTarget);
    }
    if (r.removed) onTarget.delete(key);
    else onTarget.set(key, { rowid: r.rowid, guid: r.guid, reaction: r.reaction, emoji: r.emoji, sender: r.sender, from_me: r.from_me, date: r.date });
  }
  const out = new Map<string, NetReaction[]>();
  for (const [guid, m] of standing) if (m.size > 0) out.set(guid, [...m.values()].sort((a, b) => a.rowid - b.rowid));
  return out;
}
