// The `tunnel` component of /health and its gauges, the same on the Mac and the hub.
import { degraded, ok, type ComponentHealth } from '../health/report.js';
import type { Metrics } from '../health/metrics.js';
import type { TunnelStatus } from './watchdog.js';

/** `degraded` with the reason while the tunnel is down: the link then cannot reach the hub either. */
export function tunnelHealth(iface: string, s: TunnelStatus): ComponentHealth {
  const details = {
    interface: iface, handshake_age_s: s.handshakeAgeS, endpoint: s.endpoint,
    checked_at: s.checkedAt === null ? null : new Date(s.checkedAt).toISOString(),
  };
  return s.up ? ok(details) : degraded(`WireGuard tunnel ${iface}: ${s.reason ?? 'down'}`, { code: s.code, ...details });
}

export function tunnelGauges(m: Metrics, status: () => TunnelStatus): void {
  m.gauge('tunnel_up', '1 when the WireGuard tunnel has a live handshake', () => (status().up ? 1 : 0));
  m.gauge('tunnel_handshake_age_seconds', 'Seconds since the tunnel\'s latest handshake (-1: none)', () => status().handshakeAgeS ?? -1);
}
