// The Mac daemon's scheduled upkeep jobs: prune (outbox, inbox, uploads, stale staged files),
// optimize the store, keep Messages running, warn on inbound silence, and an hourly stats line.
import type { MacUpkeep } from '../config/upkeep-config.js';
import type { Clock } from '../clock.js';
import type { ComponentHealth, HealthState } from '../health/report.js';
import type { Logger } from '../logger.js';
import type { ScriptName } from '../messages-app/osascript.js';
import type { Job } from '../scheduler.js';
import type { MacStoreStats } from '../store/mac-store.js';
import { optimizeJob } from '../store/optimize-job.js';

/** What the jobs use of the Mac store. */
export interface UpkeepStore {
  prune(olderThanMs: number): number;
  optimize(): { freedPages: number; converted: boolean };
  stats(since: number): MacStoreStats;
  commandsInState(state: string): ReadonlyArray<{ commandId: string }>;
}

export interface MacUpkeepDeps {
  readonly schedules: MacUpkeep;
  readonly store: UpkeepStore;
  /** The staging folder of files from the hub (messages-app/staging.ts). */
  readonly staging: { sweep(keep: ReadonlySet<string>, idleMs: number, now: number): number };
  /** Runs probe.js / launch.js through osascript; absent (sender off): no keep-alive. */
  readonly runScript?: (name: ScriptName, args: Record<string, string>) => Promise<Record<string, unknown>>;
  /** Automation permission as the keep-alive probe saw it (feeds health). */
  readonly onAutomation?: (denied: boolean) => void;
  /** The health report's `inbound` component and the overall status, read by liveness and stats. */
  readonly health: () => { status: HealthState; inbound: ComponentHealth | undefined; linkUp: boolean };
  readonly retentionDays: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Command states whose staged file may still be needed: waiting, being sent (the one osascript runs is
 * `sending`), or sent/delivered and maybe still transferring (the sender's follower removes the file
 * once Messages is done with it). `unknown` ones are left to the idle time, as the sender does.
 */
const IN_USE = ['received', 'sending', 'sent', 'delivered'];

/** A staged folder untouched this long, and needed by no command, is removed. */
export const STAGING_IDLE_MS = 3600_000;

/** The jobs whose schedule is not off. */
export function macUpkeepJobs(deps: MacUpkeepDeps): Job[] {
  const { schedules: s, store, clock, logger } = deps;
  let statsSince = clock.now();
  let quiet = false;
  const jobs: Array<Job | null> = [
    s.prune === null ? null : {
      name: 'prune', schedule: s.prune,
      run: () => {
        const pruned = store.prune(deps.retentionDays * 24 * 3600_000);
        const keep = new Set(IN_USE.flatMap((state) => store.commandsInState(state).map((c) => c.commandId.toLowerCase())));
        const swept = deps.staging.sweep(keep, STAGING_IDLE_MS, clock.now());
        if (pruned > 0 || swept > 0) logger.info({ pruned, swept }, 'pruned acknowledged outbox rows, finished commands and staged files no send needs');
        return { pruned, swept };
      },
    },
    optimizeJob(s.optimize, store, logger),
    s.keepAlive === null || deps.runScript === undefined ? null : {
      name: 'keepAlive', schedule: s.keepAlive,
      run: async () => {
        const probe = await deps.runScript!('probe', {});
        if (probe['automation'] === 'denied' || probe['automation'] === 'granted') deps.onAutomation?.(probe['automation'] === 'denied');
        if (probe['running'] === true) return { running: true, launched: false };
        const launched = await deps.runScript!('launch', {});
        if (launched['running'] === true) logger.warn('Messages was not running: launched it');
        else logger.error('Messages is not running and could not be launched');
        return { running: launched['running'] === true, launched: true };
      },
    },
    s.liveness === null ? null : {
      name: 'liveness', schedule: s.liveness,
      run: () => {
        const inbound = deps.health().inbound;
        const nowQuiet = inbound !== undefined && inbound.state !== 'ok';
        if (nowQuiet && !quiet) logger.warn({ code: inbound['code'] ?? null }, inbound.reason ?? 'no incoming message for too long');
        if (!nowQuiet && quiet) logger.info('incoming messages again');
        quiet = nowQuiet;
        return { quiet };
      },
    },
    s.stats === null ? null : {
      name: 'stats', schedule: s.stats,
      run: () => {
        const now = clock.now();
        const st = store.stats(statsSince);
        const h = deps.health();
        logger.info({
          events: st.eventsSince, minutes: Math.round((now - statsSince) / 60_000), outbox_rows: st.outboxRows, unacked: st.unacked,
          commands: st.inbox, uploads_waiting: st.uploadsWaiting, link_up: h.linkUp, health: h.status,
        }, 'stats');
        statsSince = now;
        return st;
      },
    },
  ];
  return jobs.filter((j): j is Job => j !== null);
}
