// Spacing between sends: at most `perSecond` overall and `perChatPerSecond` into any one chat.
import type { Clock } from '../clock.js';

export interface RateLimits {
  readonly perSecond: number;
  readonly perChatPerSecond: number;
}

export class RateLimiter {
  private last = -Infinity;
  private readonly lastByChat = new Map<string, number>();

  constructor(private readonly limits: RateLimits, private readonly clock: Clock) {}

  /** Milliseconds to wait before a send into `chat` may start. */
  delay(chat: string): number {
    const now = this.clock.now();
    const global = this.last + 1000 / this.limits.perSecond - now;
    const perChat = (this.lastByChat.get(chat) ?? -Infinity) + 1000 / this.limits.perChatPerSecond - now;
    return Math.max(0, global, perChat);
  }

  /** A send into `chat` starts now. */
  record(chat: string): void {
    const now = this.clock.now();
    this.last = now;
    this.lastByChat.set(chat, now);
    if (this.lastByChat.size > 10_000) this.lastByChat.clear();
  }
}
