// The reader's persisted position in chat.db: the ROWID cursor plus the change cursor (rows that may
// still be edited, from-me rows whose delivery is followed). Plain JSON, saved by the caller in the
// same transaction as the events it produced.

/** Edit state of a row already reported: date_edited, edit versions, unsent parts. */
export interface EditMark {
  readonly d: string;
  readonly v: number;
  readonly u: number;
}

export type WatchStatus = 'pending' | 'sent' | 'delivered';

/** A from-me row whose delivery state is followed until it is read, failed or too old. */
export interface WatchMark {
  readonly s: WatchStatus;
  /** Unix ms when it was first followed. */
  readonly t: number;
  /** Group or SMS chat: final once sent (no per-recipient receipts). */
  readonly g: boolean;
}

export interface ReaderState {
  /** Every message ROWID ≤ this has been handled. */
  readonly rowid: number;
  /** guid and date (Apple ns, decimal) of the row at `rowid`, to re-base if ROWIDs go backwards. */
  readonly lastGuid: string | null;
  readonly lastDate: string | null;
  /** Rows above this ROWID may still be edited or unsent (about the last 30 minutes). */
  readonly editFloor: number;
  /** [unix ms, rowid] samples used to move `editFloor` forward. */
  readonly floors: ReadonlyArray<readonly [number, number]>;
  readonly edits: Readonly<Record<string, EditMark>>;
  readonly watch: Readonly<Record<string, WatchMark>>;
}

/** State for a reader that starts after `rowid` (0 = from the first message). */
export function initialState(rowid: number): ReaderState {
  return { rowid, lastGuid: null, lastDate: null, editFloor: rowid, floors: [], edits: {}, watch: {} };
}

/** Parses a saved state, or returns null if it is not one (then the caller starts afresh). */
export function parseState(json: string | null): ReaderState | null {
  if (json === null) return null;
  try {
    const s = JSON.parse(json) as Partial<ReaderState>;
    if (typeof s.rowid !== 'number' || !Number.isInteger(s.rowid) || s.rowid < 0) return null;
    return {
      rowid: s.rowid,
      lastGuid: typeof s.lastGuid === 'string' ? s.lastGuid : null,
      lastDate: typeof s.lastDate === 'string' ? s.lastDate : null,
      editFloor: typeof s.editFloor === 'number' ? s.editFloor : s.rowid,
      floors: Array.isArray(s.floors) ? s.floors : [],
      edits: s.edits !== null && typeof s.edits === 'object' ? s.edits : {},
      watch: s.watch !== null && typeof s.watch === 'object' ? s.watch : {},
    };
  } catch {
    return null;
  }
}
