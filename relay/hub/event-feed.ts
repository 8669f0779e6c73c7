// Wakes long-polling readers (GET /v1/events, GET /v1/rows, sends waiting for their row) when
// something new is stored; once closed (shutdown) every wait returns at once.

export class EventFeed {
  private waiters = new Set<() => void>();
  private isClosed = false;

  /** True after close(): long-polls answer with what they have instead of waiting again. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves when something new is stored, after `ms`, or at once when closed, whichever is first. */
  wait(ms: number): Promise<void> {
    if (this.isClosed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  notify(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  /** Releases every waiter and makes every later wait return at once (shutdown). */
  close(): void {
    this.isClosed = true;
    this.notify();
  }
}
