// Builds the tunnel watchdog a daemon's `tunnel` config asks for (none without an interface), with
// its gauges on the daemon's metrics.
import type { Clock } from '../clock.js';
import type { Metrics } from '../health/metrics.js';
import type { Logger } from '../logger.js';
import { tunnelGauges } from './tunnel-health.js';
import { TunnelWatchdog } from './watchdog.js';
import { wgShow, type WgShow } from './wg.js';

export interface TunnelSettings {
  readonly interface: string | null;
  readonly peer: string | null;
  readonly command: readonly string[];
  readonly checkSeconds: number;
  readonly maxHandshakeAgeSeconds: number;
}

export function watchTunnel(t: TunnelSettings, deps: { clock: Clock; logger: Logger; metrics: Metrics; show?: WgShow | undefined }): TunnelWatchdog | null {
  if (t.interface === null) return null;
  const watchdog = new TunnelWatchdog({
    iface: t.interface, peer: t.peer, show: deps.show ?? wgShow(t.command), clock: deps.clock, logger: deps.logger,
    checkMs: t.checkSeconds * 1000, maxHandshakeAgeMs: t.maxHandshakeAgeSeconds * 1000,
  });
  tunnelGauges(deps.metrics, () => watchdog.status);
  return watchdog;
}
