// What a ROWID cursor cannot see: edits and unsends of rows already reported, and delivery/read/error
// changes of from-me rows. Pure: compares fresh rows with the marks kept in ReaderState.
import { appleToIso } from '../model/apple-time.js';
import { boundText } from '../model/event-limits.js';
import type { DeliveryStatus, RelayEvent } from '../model/events.js';
import { parseEditHistory, type EditHistory } from './edit-history.js';
import type { RawMessageRow } from './queries.js';
import type { EditMark, WatchMark, WatchStatus } from './reader-state.js';
import { commonFields, num, rowText } from './row-mapper.js';

/** A row's parsed message_summary_info, null when it does not parse (the reader's is an EditHistoryCache). */
export type HistoryOf = (row: RawMessageRow) => EditHistory | null;

/** Parses every time (callers without a cache). */
export const parseHistory: HistoryOf = (row) => {
  try {
    return parseEditHistory(row.summary);
  } catch {
    return null;
  }
};

/** The edit mark for these edit/unsend dates and parsed history, or null when never edited or unsent. */
export function markOf(dateEdited: bigint | null, dateRetracted: bigint | null, history: () => EditHistory | null): EditMark | null {
  const d = dateEdited ?? 0n;
  const r = dateRetracted ?? 0n;
  if (d <= 0n && r <= 0n) return null;
  const h = history();
  return { d: (d > r ? d : r).toString(), v: h?.versions ?? 0, u: h?.unsentParts.length ?? 0 };
}

/** The edit mark of a row as it is now, or null when it was never edited or unsent. */
export function editMark(row: RawMessageRow, history: HistoryOf = parseHistory): EditMark | null {
  return markOf(row.date_edited, row.date_retracted, () => history(row));
}

/** Whether a row's edit mark is the one recorded (null and nothing recorded count as the same). */
export function sameMark(mark: EditMark | null, previous: EditMark | undefined): boolean {
  if (mark === null || previous === undefined) return mark === null && previous === undefined;
  return previous.d === mark.d && previous.v === mark.v && previous.u === mark.u;
}

/**
 * Edit/unsend events for rows whose mark differs from the one recorded.
 * An unsend is reported when more parts are unsent than before; an edit when there are more versions
 * (or the edit date moved without a new unsend).
 */
export function editEvents(row: RawMessageRow, previous: EditMark | undefined, participants: readonly string[], history: HistoryOf = parseHistory): {
  events: RelayEvent[]; mark: EditMark | null;
} {
  const mark = editMark(row, history);
  if (mark === null || sameMark(mark, previous)) return { events: [], mark };
  const common = commonFields(row, participants, false);
  const events: RelayEvent[] = [];
  const newUnsend = mark.u > (previous?.u ?? 0);
  const newEdit = mark.v > (previous?.v ?? 0) || (!newUnsend && mark.d !== previous?.d);
  if (newEdit) {
    const h = history(row);
    const t = rowText(row);
    const fromHistory = h !== null && h.latestTexts.length > 0 && h.latestTexts.every((x) => x !== null) ? h.latestTexts.join('') : null;
    const text = boundText(t.text ?? fromHistory);
    events.push({ kind: 'edit', ...common, text: text.text, edited_at: h?.lastEditedAt ?? appleToIso(row.date_edited), truncated: text.truncated });
  }
  if (newUnsend) {
    const retracted = num(row.date_retracted) > 0 ? row.date_retracted : row.date_edited;
    events.push({ kind: 'unsend', ...common, unsent_at: appleToIso(retracted) });
  }
  return { events, mark };
}

type Status = WatchStatus | 'read' | 'failed';
const RANK: Record<Status, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** Delivery status of a from-me row. */
export function deliveryStatus(row: RawMessageRow): Status {
  if (num(row.error) !== 0) return 'failed';
  if (num(row.date_read) > 0) return 'read';
  if (num(row.is_delivered) === 1 && num(row.date_delivered) > 0) return 'delivered';
  if (num(row.is_sent) === 1) return 'sent';
  return 'pending';
}

/** Groups, unjoined rows and SMS get no per-recipient delivery receipts: for them `sent` is final. */
export function noReceipts(row: RawMessageRow): boolean {
  return row.chat_guid === null || row.chat_guid.includes(';+;') || num(row.chat_style) === 43 || (row.service !== 'iMessage' && row.service !== 'RCS');
}

/** Whether a from-me row needs following, and its first mark. */
export function startWatch(row: RawMessageRow, now: number): WatchMark | null {
  const status = deliveryStatus(row);
  const groupLike = noReceipts(row);
  if (status === 'read' || status === 'failed' || (groupLike && status !== 'pending')) return null;
  return { s: status, t: now, g: groupLike };
}

/** A delivery event when the row moved forward; the new mark, or null when it needs no more following. */
export function deliveryEvents(row: RawMessageRow, mark: WatchMark, participants: readonly string[]): {
  events: RelayEvent[]; mark: WatchMark | null;
} {
  const status = deliveryStatus(row);
  if (RANK[status] <= RANK[mark.s]) return { events: [], mark };
  const event: RelayEvent = {
    kind: 'delivery', ...commonFields(row, participants, false),
    status: status as DeliveryStatus, error: status === 'failed' ? num(row.error) : null,
  };
  const final = status === 'read' || status === 'failed' || (mark.g && status !== 'pending');
  return { events: [event], mark: final ? null : { ...mark, s: status as WatchStatus } };
}
