// Builds the tunnel watchdog a daemon's `tunnel` config asks for (none without an interface), with
// its gauges on the daemon's metrics, and its healer when an endpoint or a restart command is set.
import type { Clock } from '../clock.js';
import type { Metrics } from '../health/metrics.js';
import type { Logger } from '../logger.js';
import { runCommand, type RunCommand } from '../run-command.js';
import { systemResolve, type ResolveHost } from './endpoint.js';
import { healMetrics, TunnelHealer } from './healer.js';
import { restartTunnel } from './restart-command.js';
import { tunnelGauges } from './tunnel-health.js';
import { TunnelWatchdog } from './watchdog.js';
import { wgSetEndpoint, wgShow, type WgShow } from './wg.js';

export interface TunnelSettings {
  readonly interface: string | null;
  readonly peer: string | null;
  readonly command: readonly string[];
  readonly checkSeconds: number;
  readonly maxHandshakeAgeSeconds: number;
  readonly endpoint: string | null;
  readonly restartCommand: readonly (readonly string[])[] | null;
  readonly healAfterSeconds: number;
  readonly healBackoffSeconds: number;
  readonly healBackoffCapSeconds: number;
}

export interface WatchTunnelDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly show?: WgShow | undefined;
  /** Runs `wg set` and the restart command (default: execFile). */
  readonly run?: RunCommand | undefined;
  /** Looks the endpoint's name up (default: the system resolver). */
  readonly resolve?: ResolveHost | undefined;
}

export function watchTunnel(t: TunnelSettings, deps: WatchTunnelDeps): TunnelWatchdog | null {
  if (t.interface === null) return null;
  const run = deps.run ?? runCommand;
  const healer = t.endpoint === null && t.restartCommand === null ? null : new TunnelHealer({
    iface: t.interface, endpoint: t.endpoint, resolve: deps.resolve ?? systemResolve, setEndpoint: wgSetEndpoint(t.command, run),
    restart: t.restartCommand === null ? null : restartTunnel(t.restartCommand, run),
    clock: deps.clock, logger: deps.logger, metrics: deps.metrics,
    healAfterMs: t.healAfterSeconds * 1000, backoffBaseMs: t.healBackoffSeconds * 1000, backoffCapMs: t.healBackoffCapSeconds * 1000,
  });
  const watchdog = new TunnelWatchdog({
    iface: t.interface, peer: t.peer, show: deps.show ?? wgShow(t.command), clock: deps.clock, logger: deps.logger,
    checkMs: t.checkSeconds * 1000, maxHandshakeAgeMs: t.maxHandshakeAgeSeconds * 1000,
    ...(healer === null ? {} : { onStatus: (s) => healer.observe(s) }),
  });
  tunnelGauges(deps.metrics, () => watchdog.status);
  if (healer !== null) healMetrics(deps.metrics);
  return watchdog;
}
