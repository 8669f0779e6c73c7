// The fake osascript as one plain ES module, built once by esbuild: every send spawns it, and loading
// tsx and transpiling the simulator on each spawn cost ~0.4 s (seconds on a busy CI machine), which
// throttled the many-replies tests far below the sender's own rate limits. The bundle sits under
// node_modules/.cache (so `better-sqlite3` resolves from there), in a folder named by its content hash:
// several test processes may build at once and share the result; a source change makes a new folder.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const cacheRoot = join(here, '..', '..', '..', 'node_modules', '.cache', 'imr-fake-osascript');

/** Builds (or finds) the bundle and returns the path of its executable `osascript`. */
export function bundledFakeOsascript(): string {
  const out = buildSync({
    entryPoints: { osascript: join(here, 'main.ts'), updater: join(here, 'updater.ts') },
    bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external',
    outdir: 'out', outExtension: { '.js': '.mjs' }, write: false, logLevel: 'silent',
    banner: { js: '#!/usr/bin/env node' },
  });
  const hash = createHash('sha256');
  for (const f of out.outputFiles) hash.update(f.path).update(f.contents);
  const dir = join(cacheRoot, hash.digest('hex').slice(0, 16));
  const exe = join(dir, 'osascript');
  if (existsSync(exe)) return exe;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  for (const f of out.outputFiles) {
    const name = f.path.endsWith('osascript.mjs') ? 'osascript' : 'updater.mjs';
    writeFileSync(join(tmp, name), f.contents, { mode: 0o755 });
  }
  chmodSync(join(tmp, 'osascript'), 0o755);
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process built the same bundle first
  }
  return exe;
}
