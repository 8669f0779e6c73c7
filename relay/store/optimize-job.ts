// The store's `optimize` upkeep job, one for the hub and the Mac daemon: runs the store's optimize
// pass (database.ts's optimizeStore) and logs a one-time conversion and any pages freed.
import type { Logger } from '../logger.js';
import type { Job } from '../scheduler.js';
import type { OptimizeResult } from './database.js';

/**
 * The `optimize` job on `schedule`, or null when that schedule is off.
 * @param store the store whose optimize pass the job runs
 */
export function optimizeJob(schedule: string | null, store: { optimize(): OptimizeResult }, logger: Logger): Job | null {
  if (schedule === null) return null;
  return {
    name: 'optimize', schedule,
    run: () => {
      const r = store.optimize();
      if (r.converted) logger.info('store switched to incremental vacuum (one full VACUUM)');
      if (r.freedPages > 0) logger.info({ freedPages: r.freedPages }, 'store optimized');
      return r;
    },
  };
}
