// The relay's outbox: how many events wait for the hub and how old the oldest is, against the
// config's `outbox.degradedDepth` / `degradedAgeSeconds`. From relay.db (read-only) while the
// daemon is stopped; from its /health and /metrics while it runs.
import { asRelayError } from '../errors.js';
import type { MacStorePeek } from '../store/peek.js';
import { failed, passed, type CheckResult } from './check.js';
import type { HealthView } from './health-view.js';

/** Where relay.db is, the config's limits, and the daemon's view when it runs. */
export interface OutboxCheckDeps {
  readonly dbPath: string;
  readonly limits: { readonly degradedDepth: number; readonly degradedAgeSeconds: number };
  readonly now: () => number;
  readonly peek: (path: string) => MacStorePeek | null;
  readonly daemon: HealthView | null;
  readonly configFile: string;
}

const DRAIN = 'the outbox drains once the hub link is up: fix "hub link" (and "tunnel") first';

/** ✓ while the outbox stays under its limits; ✗ when it backs up (or holds fresh dead letters, per the daemon). */
export function checkOutbox(deps: OutboxCheckDeps): CheckResult {
  const name = 'outbox';
  const { degradedDepth, degradedAgeSeconds } = deps.limits;
  const d = deps.daemon;
  if (d !== null) {
    const c = d.components['outbox'];
    const depth = d.metrics.get('outbox_depth');
    const dead = d.metrics.get('outbox_dead_letters');
    const figures = `${depth ?? '?'} waiting, ${dead ?? '?'} dead letter(s)`;
    if (c === undefined || c.state === 'ok') return passed(name, figures, 'daemon /health, /metrics');
    return failed(name, c.reason ?? c.state, /dead-letter/.test(c.reason ?? '')
      ? `the item(s) named stay in relay.db as dead letters (never sent); see the daemon's log (imessage-relay logs --config ${deps.configFile}) for each one`
      : DRAIN, 'daemon /health');
  }
  let peek: MacStorePeek | null;
  try {
    peek = deps.peek(deps.dbPath);
  } catch (err) {
    const e = asRelayError(err, 'STORE_OPEN_FAILED');
    return failed(name, `${e.code}: ${e.message}`, `check that this user owns ${deps.dbPath} and may read it`);
  }
  if (peek === null) return passed(name, `empty: ${deps.dbPath} not made yet (the relay has not run)`, 'relay.db');
  const ageS = peek.oldestAt === null ? null : Math.max(0, Math.round((deps.now() - peek.oldestAt) / 1000));
  const figures = `${peek.depth} waiting${ageS === null ? '' : `, oldest ${ageS} s`}, ${peek.deadLetters} dead letter(s)`;
  if (peek.depth >= degradedDepth || (ageS !== null && ageS >= degradedAgeSeconds)) {
    return failed(name, `backing up: ${figures} (limits ${degradedDepth} items, ${degradedAgeSeconds} s)`,
      `start the relay (imessage-relay run --config ${deps.configFile}) or its launchd agent; ${DRAIN}`, 'relay.db');
  }
  return passed(name, figures, 'relay.db');
}
