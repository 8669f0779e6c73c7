// The hub's scheduled upkeep jobs: prune what is past retention (events, commands, deliveries and
// the files' bytes), optimize the store, and an hourly stats line.
import type { UpkeepSchedules } from '../config/upkeep-config.js';
import type { Clock } from '../clock.js';
import type { HealthState } from '../health/report.js';
import type { Logger } from '../logger.js';
import type { Job } from '../scheduler.js';
import type { FileRow } from '../store/hub-files.js';
import type { HubStoreStats } from '../store/hub-store.js';
import { optimizeJob } from '../store/optimize-job.js';

/** What the jobs use of the hub store. */
export interface HubUpkeepStore {
  prune(olderThanMs: number, now: number): number;
  optimize(): { freedPages: number; converted: boolean };
  stats(since: number): HubStoreStats;
  readonly files: { pruneOlderThan(cutoff: number, removeBytes: (row: FileRow) => void): number };
  readonly deliveries: { backlog(): { pending: number; dead: number } };
}

export interface HubUpkeepDeps {
  readonly schedules: UpkeepSchedules;
  readonly store: HubUpkeepStore;
  /** Removes a file's bytes from the vault (uploads going out, attachments that came in). */
  readonly removeBytes: (row: FileRow) => void;
  /** Relays connected now and the overall health, for the stats line. */
  readonly status: () => { relaysConnected: number; health: HealthState };
  readonly retentionDays: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The jobs whose schedule is not off. */
export function hubUpkeepJobs(deps: HubUpkeepDeps): Job[] {
  const { schedules: s, store, clock, logger } = deps;
  let statsSince = clock.now();
  const jobs: Array<Job | null> = [
    s.prune === null ? null : {
      name: 'prune', schedule: s.prune,
      run: () => {
        const keepMs = deps.retentionDays * 24 * 3600_000;
        const now = clock.now();
        const rows = store.prune(keepMs, now);
        const files = store.files.pruneOlderThan(now - keepMs, deps.removeBytes);
        if (rows + files > 0) logger.info({ pruned: rows, files }, 'pruned old hub rows and files');
        return { rows, files };
      },
    },
    optimizeJob(s.optimize, store, logger),
    s.stats === null ? null : {
      name: 'stats', schedule: s.stats,
      run: () => {
        const now = clock.now();
        const st = store.stats(statsSince);
        const b = store.deliveries.backlog();
        const h = deps.status();
        logger.info({
          events: st.eventsSince, minutes: Math.round((now - statsSince) / 60_000), events_stored: st.events, commands: st.commands, files: st.files,
          webhook_backlog: b.pending, dead_letters: b.dead, relays_connected: h.relaysConnected, health: h.health,
        }, 'stats');
        statsSince = now;
        return st;
      },
    },
  ];
  return jobs.filter((j): j is Job => j !== null);
}
