// Model requests per second across all chats (a token bucket holding one second's worth), and a
// sleep that an abort ends early.

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return; }
    const done = (): void => { signal?.removeEventListener('abort', stop); resolve(); };
    const timer = setTimeout(done, ms);
    const stop = (): void => { clearTimeout(timer); reject(signal!.reason); };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** At most `perSecond` takes per second on average, with bursts of up to one second's worth. */
export class RequestRate {
  private tokens: number;
  private at: number;
  private readonly capacity: number;

  constructor(private readonly perSecond: number, private readonly now: () => number = () => performance.now()) {
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.at = now();
  }

  /** Waits for a token (in turn: each caller reserves its own). */
  async take(signal?: AbortSignal): Promise<void> {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const waitMs = (-this.tokens * 1000) / this.perSecond;
    try {
      await sleep(waitMs, signal);
    } catch (err) {
      this.tokens += 1; // not used: give it back
      throw err;
    }
  }
}
