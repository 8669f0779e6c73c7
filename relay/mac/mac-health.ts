// The Mac daemon's health: chat.db, the link, the outbox, inbound liveness, Messages and the tunnel, each with a reason.
import type { ReaderStatus } from '../chatdb/reader.js';
import { degraded, down, ok, overall, type ComponentHealth, type HealthReport } from '../health/report.js';

export interface MacHealthInputs {
  readonly now: number;
  readonly startedAt: number;
  readonly stopping: boolean;
  readonly reader: ReaderStatus;
  /** `failures`: connections that ended (refused, dropped, timed out) since the hub last welcomed us. */
  readonly link: { readonly up: boolean; readonly since: number; readonly reason: string | null; readonly account: string | null; readonly failures: number };
  readonly outbox: { readonly count: number; readonly oldestAgeMs: number | null };
  readonly lastInboundAt: number | null;
  readonly automationDenied: boolean;
  /** The WireGuard tunnel's component, or null when no tunnel is watched. */
  readonly tunnel: ComponentHealth | null;
  readonly limits: { readonly degradedDepth: number; readonly degradedAgeSeconds: number; readonly quietMinutes: number };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function macHealth(i: MacHealthInputs): HealthReport {
  const chatdb: ComponentHealth = i.reader.state === 'down'
    ? degraded(i.reader.error?.message ?? 'chat.db cannot be read', { code: i.reader.error?.code ?? null, since: iso(i.reader.since), cursor: i.reader.cursor })
    : i.reader.state === 'starting' ? degraded('not read yet', { cursor: i.reader.cursor })
      : ok({ cursor: i.reader.cursor, pending: i.reader.pending });
  const link: ComponentHealth = i.link.up
    ? ok({ since: iso(i.link.since), account: i.link.account })
    : degraded(`link to the hub is down${i.link.reason === null ? '' : `: ${i.link.reason}`}`, { since: iso(i.link.since), failures: i.link.failures });
  const ageS = i.outbox.oldestAgeMs === null ? null : Math.round(i.outbox.oldestAgeMs / 1000);
  const backingUp = i.outbox.count >= i.limits.degradedDepth || (ageS !== null && ageS >= i.limits.degradedAgeSeconds);
  const outbox: ComponentHealth = backingUp
    ? degraded(`outbox backing up: ${i.outbox.count} unacknowledged, oldest ${ageS ?? 0} s`, { depth: i.outbox.count, oldest_unacked_age_s: ageS })
    : ok({ depth: i.outbox.count, oldest_unacked_age_s: ageS });
  const quietMs = i.limits.quietMinutes * 60_000;
  const quietFor = i.now - (i.lastInboundAt ?? i.startedAt);
  const inbound: ComponentHealth = quietMs > 0 && quietFor > quietMs
    ? degraded(`no incoming message for ${Math.round(quietFor / 60_000)} min (expected within ${i.limits.quietMinutes})`, { last_inbound_at: iso(i.lastInboundAt) })
    : ok({ last_inbound_at: iso(i.lastInboundAt) });
  const messages: ComponentHealth = i.automationDenied
    ? degraded('Messages refused Apple events: allow this program in System Settings → Privacy & Security → Automation')
    : ok();
  const components: Record<string, ComponentHealth> = { chatdb, link, outbox, inbound, messages };
  if (i.tunnel !== null) components['tunnel'] = i.tunnel;
  if (i.stopping) components['process'] = down('shutting down');
  return { status: overall(components), role: 'mac', checked_at: new Date(i.now).toISOString(), uptime_s: Math.round((i.now - i.startedAt) / 1000), components };
}
