// The `upkeep` section (both daemons): when each scheduled job runs, as cron expressions in local
// time (5 fields, or 6 with seconds first), or "off". A bad expression fails at start naming its key.
import { cronProblem } from '../scheduler.js';
import type { ConfigNode } from './validate.js';

/** A job's schedule: a cron expression, or null when the job is off. */
export type Schedule = string | null;

export interface UpkeepSchedules {
  /** Deletes what is past retention (Mac: acknowledged outbox rows, finished commands, stale staged files; hub: events, commands, deliveries, files). */
  readonly prune: Schedule;
  /** PRAGMA optimize and an incremental vacuum of the store. */
  readonly optimize: Schedule;
  /** One info line with the store's counts. */
  readonly stats: Schedule;
}

export interface MacUpkeep extends UpkeepSchedules {
  /** Launches Messages (launch.js) when it is not running. */
  readonly keepAlive: Schedule;
  /** Logs when nothing has come in for `quietMinutes` while chat.db and the link are fine (health says so at once). */
  readonly liveness: Schedule;
}

export const DEFAULT_UPKEEP: UpkeepSchedules = { prune: '0 * * * *', optimize: '30 3 * * *', stats: '0 * * * *' };
export const DEFAULT_MAC_UPKEEP: MacUpkeep = { ...DEFAULT_UPKEEP, keepAlive: '*/5 * * * *', liveness: '*/15 * * * *' };

function schedule(node: ConfigNode, key: string, fallback: Schedule): Schedule {
  if (!node.has(key)) return fallback;
  const value = node.string(key);
  if (value === 'off') return null;
  const problem = cronProblem(value);
  if (problem !== null) node.fail(key, `a cron expression ("0 * * * *": hourly) or "off" (${problem})`, value);
  return value;
}

/** The hub's `upkeep` section. */
export function parseUpkeep(node: ConfigNode): UpkeepSchedules {
  node.only(['prune', 'optimize', 'stats']);
  return { prune: schedule(node, 'prune', DEFAULT_UPKEEP.prune), optimize: schedule(node, 'optimize', DEFAULT_UPKEEP.optimize), stats: schedule(node, 'stats', DEFAULT_UPKEEP.stats) };
}

/** The Mac's `upkeep` section. */
export function parseMacUpkeep(node: ConfigNode): MacUpkeep {
  node.only(['prune', 'optimize', 'stats', 'keepAlive', 'liveness']);
  const d = DEFAULT_MAC_UPKEEP;
  return {
    prune: schedule(node, 'prune', d.prune), optimize: schedule(node, 'optimize', d.optimize), stats: schedule(node, 'stats', d.stats),
    keepAlive: schedule(node, 'keepAlive', d.keepAlive), liveness: schedule(node, 'liveness', d.liveness),
  };
}
