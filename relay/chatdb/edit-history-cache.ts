// Parsed edit histories of the rows in the edit window, so that a poll parses message_summary_info
// only for rows that changed: a row is taken as unchanged while its edit and unsend dates and the
// length of its blob are (no blob is read for that), and a blob read again is compared byte for byte.
import { parseEditHistory, type EditHistory } from './edit-history.js';
import type { EditStateRow, RawMessageRow } from './queries.js';

interface Entry {
  readonly dateEdited: bigint | null;
  readonly dateRetracted: bigint | null;
  readonly blob: Buffer | null;
  readonly history: EditHistory | null;
}

const sameBlob = (a: Buffer | null, b: Buffer | null): boolean => (a === null || b === null ? a === b : a.equals(b));

/** Edit histories by ROWID. */
export class EditHistoryCache {
  private readonly entries = new Map<number, Entry>();

  /** `parse`: parseEditHistory (tests count its calls). */
  constructor(private readonly parse: (blob: Buffer | null) => EditHistory = parseEditHistory) {}

  /** A whole row's edit history (null when its blob is not a valid summary), parsed only when the blob changed. */
  get(row: Pick<RawMessageRow, 'rowid' | 'date_edited' | 'date_retracted' | 'summary'>): EditHistory | null {
    const rowid = Number(row.rowid);
    const hit = this.entries.get(rowid);
    let history: EditHistory | null;
    if (hit !== undefined && sameBlob(hit.blob, row.summary)) {
      history = hit.history;
    } else {
      try {
        history = this.parse(row.summary);
      } catch {
        history = null;
      }
    }
    this.entries.set(rowid, { dateEdited: row.date_edited, dateRetracted: row.date_retracted, blob: row.summary, history });
    return history;
  }

  /**
   * The history of a row seen before with these dates and a blob of this length, or undefined when
   * the row is new here or changed (then read it whole and call `get`).
   */
  known(row: EditStateRow): EditHistory | null | undefined {
    const hit = this.entries.get(Number(row.rowid));
    if (hit === undefined || hit.dateEdited !== row.date_edited || hit.dateRetracted !== row.date_retracted) return undefined;
    const bytes = row.summary_bytes === null ? null : Number(row.summary_bytes);
    return (hit.blob === null ? null : hit.blob.length) === bytes ? hit.history : undefined;
  }

  /** Forgets the rows at or below `floor` (they left the edit window). */
  prune(floor: number): void {
    for (const rowid of this.entries.keys()) if (rowid <= floor) this.entries.delete(rowid);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
