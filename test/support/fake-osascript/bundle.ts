// The fake osascript as one plain ES module (test/support/bundle.ts): every send spawns it, and
// loading tsx on each spawn throttled the many-replies tests far below the sender's own limits.
// Under node_modules/.cache, so `better-sqlite3` resolves from there.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../bundle.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds (or finds) the bundle and returns the path of its executable `osascript`. */
export function bundledFakeOsascript(): string {
  return bundle({
    entries: { osascript: join(here, 'main.ts'), updater: join(here, 'updater.ts') },
    root: join(here, '..', '..', '..', 'node_modules', '.cache', 'imr-fake-osascript'),
    executable: 'osascript',
  })['osascript']!;
}
