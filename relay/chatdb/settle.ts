// The settle window: a row is emitted only once it has been read twice with the same content at
// least `settleMs` apart, in ROWID order, so a later UPDATE (is_from_me, a late attachment join,
// a link preview) is seen before the relay speaks. A row that never stops changing is emitted
// after `maxHoldMs` with its latest content.

export interface SettleEntry<T> {
  readonly rowid: number;
  readonly fingerprint: string;
  readonly value: T;
  /** Unix ms when the row was first read. */
  readonly firstSeen: number;
  /** Unix ms when its content was last seen to change (first read counts). */
  readonly changedAt: number;
}

export interface SettleOptions {
  readonly settleMs: number;
  readonly maxHoldMs: number;
}

/** Pending rows above the cursor, rebuilt from each read of that range. */
export class SettleQueue<T> {
  private entries: SettleEntry<T>[] = [];
  private readonly byRowid = new Map<number, SettleEntry<T>>();

  constructor(private readonly options: SettleOptions) {}

  get size(): number {
    return this.entries.length;
  }

  /** The first time a row was seen, if it is pending (so per-row facts like backlog stay fixed). */
  firstSeen(rowid: number): number | undefined {
    return this.byRowid.get(rowid)?.firstSeen;
  }

  /**
   * Replaces the pending set with a fresh read of the rows above the cursor (ROWID order).
   * Rows missing from the read were deleted and are dropped.
   */
  observe(rows: ReadonlyArray<{ rowid: number; fingerprint: string; value: T }>, now: number): void {
    this.entries = rows.map((r) => {
      const prev = this.byRowid.get(r.rowid);
      if (prev === undefined) return { ...r, firstSeen: now, changedAt: now };
      if (prev.fingerprint !== r.fingerprint) return { ...r, firstSeen: prev.firstSeen, changedAt: now };
      return { ...prev, value: r.value };
    });
    this.byRowid.clear();
    for (const e of this.entries) this.byRowid.set(e.rowid, e);
  }

  private settled(e: SettleEntry<T>, now: number): boolean {
    return now - e.changedAt >= this.options.settleMs || now - e.firstSeen >= this.options.maxHoldMs;
  }

  /** Removes and returns the settled prefix (ROWID order stops at the first unsettled row). */
  take(now: number): SettleEntry<T>[] {
    let n = 0;
    while (n < this.entries.length && this.settled(this.entries[n]!, now)) n++;
    const out = this.entries.splice(0, n);
    for (const e of out) this.byRowid.delete(e.rowid);
    return out;
  }

  /** Unix ms when the next row settles, or null when nothing is pending. */
  nextDeadline(): number | null {
    const first = this.entries[0];
    if (first === undefined) return null;
    return Math.min(first.changedAt + this.options.settleMs, first.firstSeen + this.options.maxHoldMs);
  }

  clear(): void {
    this.entries = [];
    this.byRowid.clear();
  }
}
