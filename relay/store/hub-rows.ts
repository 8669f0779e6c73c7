// The hub's events as chat.db rows: the row feed (message, from-me and tapback events of one account in
// ascending ROWID) and a chat's history from what the hub holds (for when the Mac cannot answer).
import { netReactions, type NetReaction, type ReactionRow } from '../model/reactions.js';
import type { Db } from './database.js';

/** Replay from the start (`after` < 0) reaches back at most this many rows and this far. */
export const REPLAY_ROWS = 500;
export const REPLAY_MS = 2 * 3600_000;

/** One row of the feed: its ROWID and its event. */
export interface FeedRow {
  readonly rowid: number;
  readonly event: Record<string, unknown>;
}

/** What a history read from the hub asks for (dates Unix ms; `start` inclusive, `end` exclusive). */
export interface HubHistoryRequest {
  readonly account: string;
  readonly chatGuid: string;
  readonly limit: number;
  readonly start: number | null;
  readonly end: number | null;
  readonly participants: readonly string[] | null;
  readonly attachments: boolean;
}

const PAGE = 500;

/** Reads the hub's events as chat.db rows (feed, history); writes nothing. */
export class HubRows {
  private readonly s;

  constructor(db: Db, private readonly now: () => number) {
    this.s = {
      after: db.prepare('SELECT mac_rowid AS rowid, body FROM events WHERE account = ? AND mac_rowid > ? ORDER BY mac_rowid, seq LIMIT ?'),
      recent: db.prepare(`SELECT mac_rowid AS rowid, body FROM events WHERE account = ? AND mac_rowid IS NOT NULL AND received_at >= ?
        ORDER BY mac_rowid DESC, seq DESC LIMIT ?`),
      newest: db.prepare('SELECT MAX(mac_rowid) FROM events WHERE account = ?').pluck(),
      page: db.prepare(`SELECT mac_rowid AS rowid, body FROM events WHERE account = ? AND chat_guid = ? AND kind IN ('message', 'from_me')
        AND mac_rowid < ? ORDER BY mac_rowid DESC LIMIT ?`),
      reactions: db.prepare(`SELECT body FROM events WHERE account = ? AND chat_guid = ? AND kind = 'reaction' AND mac_rowid > ?
        ORDER BY mac_rowid LIMIT 5000`),
      commandOf: db.prepare("SELECT id FROM commands WHERE account = ? AND apple_guid = ? AND status != 'chunk' LIMIT 1").pluck(),
      changes: db.prepare(`SELECT guid, kind, body FROM events WHERE account = ? AND kind IN ('edit', 'unsend')
        AND guid IN (SELECT value FROM json_each(?)) ORDER BY seq`),
    };
  }

  /** The relay's command that sent the row with this Apple guid, if the relay sent it. */
  commandOf(account: string, appleGuid: string): string | null {
    return (this.s.commandOf.get(account, appleGuid) as string | undefined) ?? null;
  }

  /** The highest ROWID of the account's feed (0 when it has none). */
  newest(account: string): number {
    return Number(this.s.newest.get(account) ?? 0);
  }

  /** Feed rows with ROWID > `after`, ascending, at most `limit`. */
  after(account: string, after: number, limit: number): FeedRow[] {
    return this.rows(this.s.after.all(account, after, limit) as Array<{ rowid: number; body: string }>, account);
  }

  /** The start of what replay reaches (the newest REPLAY_ROWS rows of the last REPLAY_MS), ascending, at most `limit`. */
  fromStart(account: string, limit: number): FeedRow[] {
    const rows = (this.s.recent.all(account, this.now() - REPLAY_MS, REPLAY_ROWS) as Array<{ rowid: number; body: string }>).reverse();
    return this.rows(rows.slice(0, limit), account);
  }

  /** A from-me row of the relay's own send names its command even when the Mac could not tell (it is matched by guid here). */
  private rows(raw: ReadonlyArray<{ rowid: number; body: string }>, account: string): FeedRow[] {
    return raw.map((r) => {
      const event = JSON.parse(r.body) as Record<string, unknown>;
      if (event['kind'] === 'from_me' && event['command_id'] === null && typeof event['guid'] === 'string') {
        const id = this.commandOf(account, event['guid']);
        if (id !== null) event['command_id'] = id;
      }
      return { rowid: r.rowid, event };
    });
  }

  /** A chat's message and from-me events the hub holds, newest first, each with its standing tapbacks. */
  history(req: HubHistoryRequest): Array<Record<string, unknown> & { reactions: readonly NetReaction[] }> {
    const want = req.participants === null ? null : new Set(req.participants.map((p) => p.toLowerCase()));
    const out: Array<Record<string, unknown>> = [];
    let before = Number.MAX_SAFE_INTEGER;
    for (;;) {
      const page = this.rows(this.s.page.all(req.account, req.chatGuid, before, PAGE) as Array<{ rowid: number; body: string }>, req.account);
      for (const { event } of page) {
        const at = typeof event['date'] === 'string' ? Date.parse(event['date']) : NaN;
        if (req.start !== null && !(at >= req.start)) continue;
        if (req.end !== null && !(at < req.end)) continue;
        // As chat.db's handle column: the sender, or for a from-me row in a DM the other party (none in a group).
        const chat = event['chat'] as { identifier?: unknown; is_group?: unknown } | null;
        const handle = event['kind'] === 'from_me' ? (chat?.is_group === true ? null : chat?.identifier) : event['sender'];
        if (want !== null && !(typeof handle === 'string' && want.has(handle.toLowerCase()))) continue;
        out.push(req.attachments ? event : { ...event, attachments: [] });
        if (out.length >= req.limit) break;
      }
      if (out.length >= req.limit || page.length < PAGE) break;
      before = page[page.length - 1]!.rowid;
    }
    if (out.length === 0) return [];
    const oldest = Math.min(...out.map((e) => Number(e['rowid'])));
    const rows: ReactionRow[] = (this.s.reactions.all(req.account, req.chatGuid, oldest) as Array<{ body: string }>).map((r) => {
      const e = JSON.parse(r.body) as Record<string, unknown>;
      return { rowid: Number(e['rowid']), guid: String(e['guid']), reaction: String(e['reaction']), emoji: (e['emoji'] as string | null) ?? null,
        removed: e['removed'] === true, target_guid: (e['target_guid'] as string | null) ?? null, sender: (e['sender'] as string | null) ?? null,
        from_me: e['sender'] === null, date: (e['date'] as string | null) ?? null };
    });
    const net = netReactions(rows);
    // As chat.db shows them now: the last edit's text, no text once unsent.
    const text = new Map<string, string | null>();
    for (const c of this.s.changes.all(req.account, JSON.stringify(out.map((e) => e['guid']))) as Array<{ guid: string; kind: string; body: string }>) {
      text.set(c.guid, c.kind === 'unsend' ? null : ((JSON.parse(c.body) as { text?: string | null }).text ?? null));
    }
    return out.map((e) => ({ ...e, ...(text.has(String(e['guid'])) ? { text: text.get(String(e['guid'])) } : {}), reactions: net.get(String(e['guid'])) ?? [] }));
  }
}
