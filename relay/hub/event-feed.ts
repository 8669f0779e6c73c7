// Wakes long-polling readers of GET /v1/events when new events are stored.

export class EventFeed {
  private waiters = new Set<() => void>();

  /** Resolves when something new is stored or after `ms`, whichever is first. */
  wait(ms: number): Promise<void> {
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

  /** Releases every waiter (shutdown). */
  close(): void {
    this.notify();
  }
}
