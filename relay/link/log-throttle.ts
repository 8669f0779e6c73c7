// Keeps a flood of refused or broken connections from flooding the log: at most a few lines per
// kind per window, and the next line written says how many were held back.
import type { Clock } from '../clock.js';

export interface LogThrottleDeps {
  readonly clock: Clock;
  /** Lines of one kind written per window (default 10). */
  readonly perWindow?: number;
  /** Window length (default 60 s). */
  readonly windowMs?: number;
}

interface Window {
  start: number;
  written: number;
  held: number;
}

/** Fixed windows per kind; kinds are our own fixed strings, never from a peer. */
export class LogThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly deps: LogThrottleDeps) {}

  /**
   * Whether a line of this kind may be written now: null when not (it is counted), else the number
   * of lines of this kind held back since the last one written (to log beside it).
   */
  take(kind: string): number | null {
    const now = this.deps.clock.now();
    let w = this.windows.get(kind);
    if (w === undefined || now - w.start >= (this.deps.windowMs ?? 60_000)) {
      w = { start: now, written: 0, held: w?.held ?? 0 };
      this.windows.set(kind, w);
    }
    if (w.written >= (this.deps.perWindow ?? 10)) {
      w.held++;
      return null;
    }
    w.written++;
    const held = w.held;
    w.held = 0;
    return held;
  }
}
