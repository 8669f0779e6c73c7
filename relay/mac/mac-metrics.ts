// The Mac daemon's Prometheus metrics (README "Metrics" lists them).
import { Metrics } from '../health/metrics.js';

export function macMetrics(gauges: { outboxDepth: () => number; outboxDeadLetters: () => number; linkUp: () => number; lastEventAgeSeconds: () => number }): Metrics {
  const m = new Metrics({ processMetrics: true });
  m.counter('events_read_total', 'Events read from chat.db, by kind', ['kind']);
  m.counter('events_forwarded_total', 'Outbox items sent to the hub (resends included)');
  m.counter('events_acked_total', 'Outbox items the hub acknowledged as stored');
  m.counter('decode_errors_total', 'Message bodies that could not be decoded');
  m.counter('commands_total', 'Commands received from the hub, by result', ['result']);
  m.counter('reconnects_total', 'Times the link to the hub went down');
  m.counter('chatdb_errors_total', 'Failed chat.db polls, by code', ['code']);
  m.counter('attachments_total', 'Incoming attachments queued for the hub, by status (complete, too_large, missing, unreadable)', ['status']);
  m.counter('events_truncated_total', 'Events whose text (or attachment or mention list) was cut to its limit');
  m.counter('outbox_dead_letters_total', 'Outbox items dead-lettered (too large to carry, or refused by the hub), by code', ['code']);
  m.gauge('outbox_depth', 'Outbox items not yet acknowledged by the hub', gauges.outboxDepth);
  m.gauge('outbox_dead_letters', 'Dead-lettered outbox items kept in relay.db (pruned after retentionDays)', gauges.outboxDeadLetters);
  m.gauge('link_up', '1 when the link to the hub is up', gauges.linkUp);
  m.gauge('last_event_age_seconds', 'Seconds since the last event was read from chat.db (-1: none yet)', gauges.lastEventAgeSeconds);
  return m;
}
