// A manual clock for tests: time moves only when the test says so, and timers fire in order as it
// passes them. Rate limits, the watcher's schedule and the settle window are exact under it.
import type { Clock } from '../../relay/clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = 1_800_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Timers waiting, as delays from now (soonest first). */
  pending(): number[] {
    return this.timers.map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Unix ms of the next timer, or null when none is set. */
  nextAt(): number | null {
    return this.timers.length === 0 ? null : Math.min(...this.timers.map((x) => x.at));
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order (a timer set by one that fires counts too). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }

  /** Fires the next timer (moving time to it); returns how far time moved, or null when none is set. */
  runNext(): number | null {
    const at = this.nextAt();
    if (at === null) return null;
    const from = this.t;
    this.advance(at - this.t);
    return at - from;
  }
}
