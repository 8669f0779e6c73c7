// Acts on the watchdog's verdicts: while the tunnel is dead, first the peer's endpoint name looked up
// again and set with `wg set` when its address changed, else the admin's restart command; attempts
// spaced with exponential backoff, reset once the tunnel is up. Each action logged and counted.
import type { Clock } from '../clock.js';
import { asRelayError } from '../errors.js';
import type { Metrics } from '../health/metrics.js';
import type { Logger } from '../logger.js';
import { resolveEndpoint, type ResolveHost } from './endpoint.js';
import type { RestartTunnel } from './restart-command.js';
import type { TunnelStatus } from './watchdog.js';
import type { WgSetEndpoint } from './wg.js';

/** The verdicts an action can mend; others (wg missing, no permission, bad output) need the admin. */
export const HEALABLE: ReadonlySet<string> = new Set(['TUNNEL_STALE', 'TUNNEL_NO_HANDSHAKE', 'TUNNEL_NO_INTERFACE', 'TUNNEL_NO_PEER']);

export interface TunnelHealerDeps {
  readonly iface: string;
  /** The peer's `host:port` to look up again; null = never re-resolved. */
  readonly endpoint: string | null;
  readonly resolve: ResolveHost;
  readonly setEndpoint: WgSetEndpoint;
  /** null = no restart configured. */
  readonly restart: RestartTunnel | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How long a tunnel with no interface, no peer or no handshake yet is left to come up by itself. */
  readonly healAfterMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

interface Episode {
  readonly since: number;
  attempts: number;
  nextAt: number;
}

/** Registers `tunnel_heal_actions_total{action,result}` on `m`. */
export function healMetrics(m: Metrics): void {
  m.counter('tunnel_heal_actions_total', 'Tunnel heal actions, by action (endpoint, restart) and result (changed, unchanged, unresolved, failed, ok)', ['action', 'result']);
}

/**
 * One per watched tunnel. {@link observe} is given every verdict; while the tunnel stays down for a
 * reason in {@link HEALABLE}, it acts at most once per backoff step (base, 2×base, … up to the cap).
 * A stale tunnel is acted on at once (its limit has already passed); the other reasons after
 * `healAfterMs`. An attempt looks the endpoint up again (when the interface and peer are there) and,
 * only when that did not move the peer to a new address, runs the restart command.
 */
export class TunnelHealer {
  private episode: Episode | null = null;

  constructor(private readonly deps: TunnelHealerDeps) {}

  /** Acts on one verdict; resolves once any action it started has finished (never rejects). */
  async observe(s: TunnelStatus): Promise<void> {
    const { clock, logger, iface } = this.deps;
    const now = clock.now();
    if (s.up) {
      const e = this.episode;
      this.episode = null;
      if (e !== null && e.attempts > 0) logger.info({ interface: iface, attempts: e.attempts, down_s: Math.round((now - e.since) / 1000) }, 'tunnel healed');
      return;
    }
    if (s.code === null || !HEALABLE.has(s.code)) return;
    const e = this.episode ??= { since: now, attempts: 0, nextAt: now + this.deps.healAfterMs };
    if (s.code === 'TUNNEL_STALE' && e.attempts === 0) e.nextAt = Math.min(e.nextAt, now);
    if (now < e.nextAt) return;
    const step = e.attempts++;
    e.nextAt = now + Math.min(this.deps.backoffCapMs, this.deps.backoffBaseMs * 2 ** Math.min(step, 30));
    const interfaceThere = s.code !== 'TUNNEL_NO_INTERFACE' && s.code !== 'TUNNEL_NO_PEER' && s.publicKey !== null;
    if (this.deps.endpoint !== null && interfaceThere && await this.reresolve(s, s.publicKey!)) return;
    if (this.deps.restart !== null) await this.restart(s, step);
  }

  /** True when the peer was moved to a new address (the restart can wait for the next step). */
  private async reresolve(s: TunnelStatus, peer: string): Promise<boolean> {
    const { iface, endpoint, logger, metrics } = this.deps;
    let address: string;
    try {
      address = await resolveEndpoint(endpoint!, this.deps.resolve);
    } catch (err) {
      const e = asRelayError(err, 'TUNNEL_RESOLVE_FAILED');
      metrics.inc('tunnel_heal_actions_total', 1, { action: 'endpoint', result: 'unresolved' });
      logger.warn({ interface: iface, endpoint, code: e.code, err: e.message }, 'tunnel endpoint not re-resolved');
      return false;
    }
    if (address === s.endpoint) {
      metrics.inc('tunnel_heal_actions_total', 1, { action: 'endpoint', result: 'unchanged' });
      logger.info({ interface: iface, endpoint, address }, 'tunnel endpoint re-resolved: unchanged');
      return false;
    }
    try {
      await this.deps.setEndpoint(iface, peer, address);
    } catch (err) {
      const e = asRelayError(err, 'TUNNEL_WG_FAILED');
      metrics.inc('tunnel_heal_actions_total', 1, { action: 'endpoint', result: 'failed' });
      logger.warn({ interface: iface, endpoint, address, code: e.code, err: e.message }, 'tunnel endpoint not set');
      return false;
    }
    metrics.inc('tunnel_heal_actions_total', 1, { action: 'endpoint', result: 'changed' });
    logger.info({ interface: iface, endpoint, from: s.endpoint, address }, 'tunnel endpoint moved');
    return true;
  }

  private async restart(s: TunnelStatus, step: number): Promise<void> {
    const { iface, logger, metrics } = this.deps;
    logger.warn({ interface: iface, code: s.code, attempt: step + 1 }, 'tunnel restarting');
    try {
      await this.deps.restart!();
    } catch (err) {
      const e = asRelayError(err, 'TUNNEL_RESTART_FAILED');
      metrics.inc('tunnel_heal_actions_total', 1, { action: 'restart', result: 'failed' });
      logger.error({ interface: iface, code: e.code, err: e.message, attempt: step + 1 }, 'tunnel restart failed');
      return;
    }
    metrics.inc('tunnel_heal_actions_total', 1, { action: 'restart', result: 'ok' });
    logger.info({ interface: iface, attempt: step + 1 }, 'tunnel restarted');
  }
}
