// Failures made visible: failed replies in a row turn the assistant's health `degraded` with the last
// error's code and reason (a success puts it back to ok), and an apology goes to a chat at most once
// per `apologyMinutes`.
import type { RelayError } from '../errors.js';
import { degraded, ok, type ComponentHealth } from '../health/report.js';

/** Failed replies in a row and the last error, for the `assistant` health component. */
export class FailureTracker {
  private inRow = 0;
  private last: RelayError | null = null;
  private lastAt: number | null = null;

  constructor(private readonly threshold: number) {}

  success(): void {
    this.inRow = 0;
  }

  failure(err: RelayError, at: number): void {
    this.inRow++;
    this.last = err;
    this.lastAt = at;
  }

  /** The `assistant` component of the hub's health. */
  health(model: string): ComponentHealth {
    const lastError = this.last === null ? null : { code: this.last.code, at: new Date(this.lastAt!).toISOString() };
    if (this.inRow >= this.threshold && this.last !== null) {
      return degraded(`the model failed ${this.inRow} replies in a row: ${this.last.message}`, { code: this.last.code, failures: this.inRow, model });
    }
    return ok({ model, failures: this.inRow, last_error: lastError });
  }
}

/** True when an apology may go to a chat last sent one at `lastAt` (ms, or null: never). */
export const apologyDue = (lastAt: number | null, now: number, minutes: number): boolean => lastAt === null || now - lastAt >= minutes * 60_000;
