// Room left on the disks holding the store and the logs: failing under 1 GiB or 5 % free, where a full
// disk would stop the store taking new events (nothing is lost, but nothing moves either).
import { dirname } from 'node:path';
import { failed, passed, type CheckResult } from './check.js';

/** What fs.statfs answers that matters here (blocks in units of bsize). */
export interface DiskSpace {
  readonly bsize: number;
  readonly blocks: number;
  /** Blocks free for an unprivileged user. */
  readonly bavail: number;
}

/** fs.statfs, or a stand-in. */
export type StatFs = (path: string) => Promise<DiskSpace>;

/** Less free space than this fails (also under MIN_FREE_FRACTION of the disk). */
export const MIN_FREE_BYTES = 1024 ** 3;
/** The share of the disk that must stay free. */
export const MIN_FREE_FRACTION = 0.05;

const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(1)} GiB`;

/** The path itself, else its nearest existing parent (a folder not made yet lives on its parent's disk). */
async function statNearest(statfs: StatFs, path: string): Promise<{ at: string; space: DiskSpace }> {
  let at = path;
  for (;;) {
    try {
      return { at, space: await statfs(at) };
    } catch (err) {
      const parent = dirname(at);
      if (parent === at || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      at = parent;
    }
  }
}

/** `places`: what each folder holds, e.g. [["store", dataDir], ["logs", logDir]]. */
export async function checkDisk(places: ReadonlyArray<readonly [string, string]>, statfs: StatFs): Promise<CheckResult> {
  const name = 'disk space';
  const seen: string[] = [];
  const low: string[] = [];
  for (const [what, path] of places) {
    let r;
    try {
      r = await statNearest(statfs, path);
    } catch (err) {
      return failed(name, `cannot look at the disk of ${path} (${what}): ${(err as Error).message}`, `check that ${path} exists and this user may read it`);
    }
    const free = r.space.bavail * r.space.bsize;
    const total = r.space.blocks * r.space.bsize;
    const pct = total > 0 ? free / total : 0;
    const line = `${what} ${path}: ${gib(free)} free (${(pct * 100).toFixed(1)} %)`;
    if (free < MIN_FREE_BYTES || pct < MIN_FREE_FRACTION) low.push(line);
    else seen.push(line);
  }
  if (low.length > 0) {
    return failed(name, `low on space: ${low.join('; ')}`, `free space on that disk (at least ${gib(MIN_FREE_BYTES)} and ${MIN_FREE_FRACTION * 100} %), or move dataDir / log.file to a larger one`);
  }
  return passed(name, seen.join('; '));
}
