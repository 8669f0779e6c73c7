// Watches the WireGuard tunnel the link runs in: every few seconds, `wg show <interface> dump`, and a
// verdict with its reason. WireGuard drops a session 180 s after its handshake (REJECT_AFTER_TIME)
// and any traffic (our link's heartbeats) starts a new one after 120 s, so a live tunnel always has a
// handshake younger than 180 s: an older one means no packet can pass.
import type { Clock } from '../clock.js';
import { asRelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { WgDump, WgPeer } from './wg-dump.js';
import type { WgShow } from './wg.js';

export interface TunnelStatus {
  readonly up: boolean;
  /** Why it is down (null when up, or before the first check). */
  readonly reason: string | null;
  readonly code: string | null;
  readonly checkedAt: number | null;
  readonly handshakeAgeS: number | null;
  readonly endpoint: string | null;
  readonly rxBytes: number | null;
  readonly txBytes: number | null;
}

export interface TunnelWatchdogDeps {
  readonly iface: string;
  /** The hub's WireGuard public key; null = the interface's only (or first) peer. */
  readonly peer: string | null;
  readonly show: WgShow;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly checkMs: number;
  readonly maxHandshakeAgeMs: number;
  readonly onStatus?: (s: TunnelStatus) => void;
}

export class TunnelWatchdog {
  private current: TunnelStatus = { up: false, reason: 'not checked yet', code: null, checkedAt: null, handshakeAgeS: null, endpoint: null, rxBytes: null, txBytes: null };
  private timer: unknown = null;
  private stopped = true;

  constructor(private readonly deps: TunnelWatchdogDeps) {}

  get status(): TunnelStatus {
    return this.current;
  }

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** One check now; resolves with the new status. */
  async check(): Promise<TunnelStatus> {
    const { iface, show, clock } = this.deps;
    const now = clock.now();
    let next: TunnelStatus;
    try {
      next = this.judge(await show(iface), now);
    } catch (err) {
      const e = asRelayError(err, 'TUNNEL_WG_FAILED');
      next = { up: false, reason: e.message, code: e.code, checkedAt: now, handshakeAgeS: null, endpoint: null, rxBytes: null, txBytes: null };
    }
    this.report(next);
    return next;
  }

  private judge(dump: WgDump, now: number): TunnelStatus {
    const { iface, peer, maxHandshakeAgeMs } = this.deps;
    const p: WgPeer | undefined = peer === null ? dump.peers[0] : dump.peers.find((x) => x.publicKey === peer);
    const base = { checkedAt: now, endpoint: p?.endpoint ?? null, rxBytes: p?.rxBytes ?? null, txBytes: p?.txBytes ?? null };
    if (p === undefined) {
      const why = peer === null ? `${iface} has no peer` : `${iface} has no peer with the hub's key ${peer.slice(0, 8)}…`;
      return { up: false, reason: why, code: 'TUNNEL_NO_PEER', handshakeAgeS: null, ...base };
    }
    if (p.latestHandshake === 0) {
      return { up: false, reason: `no handshake with ${p.endpoint ?? 'the peer (no endpoint)'} yet`, code: 'TUNNEL_NO_HANDSHAKE', handshakeAgeS: null, ...base };
    }
    const ageS = Math.max(0, Math.round(now / 1000 - p.latestHandshake));
    if (ageS * 1000 > maxHandshakeAgeMs) {
      return { up: false, reason: `last handshake with ${p.endpoint ?? 'the peer'} ${ageS} s ago (a live tunnel renews it every 2 min)`, code: 'TUNNEL_STALE', handshakeAgeS: ageS, ...base };
    }
    return { up: true, reason: null, code: null, handshakeAgeS: ageS, ...base };
  }

  private report(next: TunnelStatus): void {
    const prev = this.current;
    this.current = next;
    const { logger, iface } = this.deps;
    if (next.up && !prev.up) logger.info({ interface: iface, handshake_age_s: next.handshakeAgeS }, 'tunnel up');
    else if (!next.up && (prev.up || prev.code !== next.code)) logger.warn({ interface: iface, code: next.code, reason: next.reason }, 'tunnel down');
    this.deps.onStatus?.(next);
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    await this.check();
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => { this.timer = null; void this.loop(); }, this.deps.checkMs);
  }
}
