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
  /** Outbox items that will never reach the hub, and the newest of them. */
  readonly deadLetters: { readonly count: number; readonly last: { readonly seq: number; readonly id: string; readonly reason: string; readonly at: number } | null };
  readonly lastInboundAt: number | null;
  readonly automationDenied: boolean;
  /** The WireGuard tunnel's component, or null when no tunnel is watched. */
  readonly tunnel: ComponentHealth | null;
  readonly limits: { readonly degradedDepth: number; readonly degradedAgeSeconds: number; readonly quietMinutes: number };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const span = (ms: number): string => (ms >= 2 * 3600_000 ? `${Math.round(ms / 3600_000)} h` : ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

/** How long the outbox stays `degraded` after an item was dead-lettered (the count stays in its details). */
export const DEAD_LETTER_ALERT_MS = 24 * 3600_000;

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
  const dead = i.deadLetters.last;
  const outboxDetails = {
    depth: i.outbox.count, oldest_unacked_age_s: ageS, dead_letters: i.deadLetters.count,
    last_dead_letter: dead === null ? null : { seq: dead.seq, id: dead.id, reason: dead.reason, at: iso(dead.at) },
  };
  const outbox: ComponentHealth = backingUp
    ? degraded(`outbox backing up: ${i.outbox.count} unacknowledged, oldest ${ageS ?? 0} s`, outboxDetails)
    : dead !== null && i.now - dead.at < DEAD_LETTER_ALERT_MS
      ? degraded(`${i.deadLetters.count} outbox item(s) dead-lettered, never delivered; last at ${iso(dead.at)}: ${dead.reason}`, outboxDetails)
      : ok(outboxDetails);
  // Liveness: silence means something only while chat.db is read and the link is up (else those components say why).
  const quietMs = i.limits.quietMinutes * 60_000;
  const quietFor = i.now - (i.lastInboundAt ?? i.startedAt);
  const inbound: ComponentHealth = quietMs > 0 && quietFor > quietMs && chatdb.state === 'ok' && i.link.up
    ? degraded(`no incoming message for ${span(quietFor)} (expected within ${span(quietMs)}) while chat.db and the link are fine: `
      + 'Apple may have signed this Mac out of iMessage (check Messages → Settings → iMessage)', { code: 'INBOUND_QUIET', last_inbound_at: iso(i.lastInboundAt) })
    : ok({ last_inbound_at: iso(i.lastInboundAt) });
  const messages: ComponentHealth = i.automationDenied
    ? degraded('Messages refused Apple events: allow this program in System Settings → Privacy & Security → Automation')
    : ok();
  const components: Record<string, ComponentHealth> = { chatdb, link, outbox, inbound, messages };
  if (i.tunnel !== null) components['tunnel'] = i.tunnel;
  if (i.stopping) components['process'] = down('shutting down');
  return { status: overall(components), role: 'mac', checked_at: new Date(i.now).toISOString(), uptime_s: Math.round((i.now - i.startedAt) / 1000), components };
}
