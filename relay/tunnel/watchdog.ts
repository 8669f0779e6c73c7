// Watches the WireGuard tunnel the link runs in: every few seconds, `wg show <interface> dump`, and a
// verdict with its reason. WireGuard drops a session 180 s after its handshake (REJECT_AFTER_TIME)
// and any traffic (our link's heartbeats) starts a new one after 120 s, so a live tunnel always has a
// handshake younger than 180 s: an older one means no packet can pass. Received bytes count too: a
// peer heard from recently is alive whatever the handshake's age (what lets tests lower the limit).
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
  /** The watched peer's public key (null when there is none). */
  readonly publicKey: string | null;
}

export interface TunnelWatchdogDeps {
  readonly iface: string;
  /** The hub's WireGuard public key; null = the interface's only (or first) peer. */
  readonly peer: string | null;
  readonly show: WgShow;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly checkMs: number;
  /** Silent (no handshake and no byte received) for longer than this: stale. */
  readonly maxHandshakeAgeMs: number;
  /** Called after each check; a returned promise (the healer acting) is awaited before the next. */
  readonly onStatus?: (s: TunnelStatus) => void | Promise<void>;
}

export class TunnelWatchdog {
  private current: TunnelStatus = { up: false, reason: 'not checked yet', code: null, checkedAt: null, handshakeAgeS: null, endpoint: null, rxBytes: null, txBytes: null, publicKey: null };
  /** When the peer's received-bytes counter was last seen growing (null: not seen yet). */
  private rx: { key: string; bytes: number; grewAt: number | null } | null = null;
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
      next = { up: false, reason: e.message, code: e.code, checkedAt: now, handshakeAgeS: null, endpoint: null, rxBytes: null, txBytes: null, publicKey: null };
    }
    await this.report(next);
    return next;
  }

  private judge(dump: WgDump, now: number): TunnelStatus {
    const { iface, peer, maxHandshakeAgeMs } = this.deps;
    const p: WgPeer | undefined = peer === null ? dump.peers[0] : dump.peers.find((x) => x.publicKey === peer);
    const base = { checkedAt: now, endpoint: p?.endpoint ?? null, rxBytes: p?.rxBytes ?? null, txBytes: p?.txBytes ?? null, publicKey: p?.publicKey ?? null };
    if (p === undefined) {
      const why = peer === null ? `${iface} has no peer` : `${iface} has no peer with the hub's key ${peer.slice(0, 8)}…`;
      return { up: false, reason: why, code: 'TUNNEL_NO_PEER', handshakeAgeS: null, ...base };
    }
    if (p.latestHandshake === 0) {
      return { up: false, reason: `no handshake with ${p.endpoint ?? 'the peer (no endpoint)'} yet`, code: 'TUNNEL_NO_HANDSHAKE', handshakeAgeS: null, ...base };
    }
    const grewAt = this.rxGrewAt(p, now);
    const ageS = Math.max(0, Math.round(now / 1000 - p.latestHandshake));
    const heard = grewAt !== null && grewAt > p.latestHandshake * 1000;
    const silentS = heard ? Math.max(0, Math.round((now - grewAt) / 1000)) : ageS;
    if (silentS * 1000 > maxHandshakeAgeMs) {
      const reason = !heard
        ? `last handshake with ${p.endpoint ?? 'the peer'} ${ageS} s ago (a live tunnel renews it every 2 min)`
        : `nothing received from ${p.endpoint ?? 'the peer'} for ${silentS} s (last handshake ${ageS} s ago)`;
      return { up: false, reason, code: 'TUNNEL_STALE', handshakeAgeS: ageS, ...base };
    }
    return { up: true, reason: null, code: null, handshakeAgeS: ageS, ...base };
  }

  /** Notes the peer's received bytes; when they were last seen growing (a new peer or a counter reset is not growth). */
  private rxGrewAt(p: WgPeer, now: number): number | null {
    const prev = this.rx;
    const grew = prev !== null && prev.key === p.publicKey && p.rxBytes > prev.bytes;
    const kept = prev !== null && prev.key === p.publicKey ? prev.grewAt : null;
    this.rx = { key: p.publicKey, bytes: p.rxBytes, grewAt: grew ? now : kept };
    return this.rx.grewAt;
  }

  private async report(next: TunnelStatus): Promise<void> {
    const prev = this.current;
    this.current = next;
    const { logger, iface } = this.deps;
    if (next.up && !prev.up) logger.info({ interface: iface, handshake_age_s: next.handshakeAgeS }, 'tunnel up');
    else if (!next.up && (prev.up || prev.code !== next.code)) logger.warn({ interface: iface, code: next.code, reason: next.reason }, 'tunnel down');
    await this.deps.onStatus?.(next);
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    await this.check();
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => { this.timer = null; void this.loop(); }, this.deps.checkMs);
  }
}
