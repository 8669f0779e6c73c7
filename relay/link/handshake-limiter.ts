// Handshake rate limits on the hub (PROTOCOL.md §2): one token bucket per source address and one
// per pinned relay key, so a flood of connections or hellos is turned away before any X25519 work.
import type { Clock } from '../clock.js';

/** A bucket of `burst` tokens refilled at `perMinute` tokens a minute. */
export interface RateLimit {
  readonly burst: number;
  readonly perMinute: number;
}

export interface HandshakeLimits {
  /** Connections from one source address (counted when the WebSocket opens, before its hello). */
  readonly perAddress: RateLimit;
  /** Hellos carrying one pinned relay key (counted before the hub's X25519 work). */
  readonly perKey: RateLimit;
}

/** Defaults: a relay reconnecting with backoff never meets them; a flood from one address soon does. */
export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = {
  perAddress: { burst: 30, perMinute: 60 },
  perKey: { burst: 30, perMinute: 120 },
};

export interface HandshakeLimiterDeps {
  readonly clock: Clock;
  readonly limits: HandshakeLimits;
  /** Buckets kept per kind; past this the least recently used go (default 10,000). */
  readonly maxTracked?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets per address and per key; memory stays bounded however many addresses show up. */
export class HandshakeLimiter {
  private readonly addresses = new Map<string, Bucket>();
  private readonly keys = new Map<string, Bucket>();

  constructor(private readonly deps: HandshakeLimiterDeps) {}

  /** Takes a token for a connection from `address`; false when that address is over its limit. */
  allowAddress(address: string): boolean {
    return this.take(this.addresses, address, this.deps.limits.perAddress);
  }

  /** Takes a token for a hello with this (pinned) key; false when the key is over its limit. */
  allowKey(key: string): boolean {
    return this.take(this.keys, key, this.deps.limits.perKey);
  }

  private take(buckets: Map<string, Bucket>, id: string, limit: RateLimit): boolean {
    const now = this.deps.clock.now();
    const b = buckets.get(id) ?? { tokens: limit.burst, at: now };
    buckets.delete(id); // re-inserted below: Map order is then least recently used first
    b.tokens = Math.min(limit.burst, b.tokens + (Math.max(0, now - b.at) * limit.perMinute) / 60_000);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    buckets.set(id, b);
    const max = this.deps.maxTracked ?? 10_000;
    for (const oldest of buckets.keys()) {
      if (buckets.size <= max) break;
      buckets.delete(oldest);
    }
    return ok;
  }
}
