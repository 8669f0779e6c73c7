// The `imsg-relay` command as a user runs it: the launcher bin/imsg-relay, which runs the bundle
// dist/imsg-relay.cjs. Tests run that very launcher, so the bundle must match the sources: built here
// (npm run build, as `prepare` does) when a file the command loads is newer than it, one build at a time.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The file OpenClaw's cliPath names. */
export const LAUNCHER = join(ROOT, 'bin', 'imsg-relay');
export const COMMAND_MAIN = join(ROOT, 'relay', 'imsg', 'main.ts');

/** Relative imports of a source file that are loaded at run time (type-only imports are erased). */
export function runtimeImports(text: string): string[] {
  return [...text.matchAll(/^import\s+(?!type\s)[^'"]*?['"]([^'"]+)['"]|^export\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)]
    .map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** Every source file `entry` loads, transitively, and every bare module (library or node:) they import. */
export function closure(entry: string): { files: string[]; modules: string[] } {
  const files = new Set<string>();
  const modules = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec).replace(/\.js$/, '.ts'));
      else modules.add(spec);
    }
  };
  visit(entry);
  return { files: [...files].sort(), modules: [...modules].sort() };
}

/** The one file the launcher runs (npm run build bundles the command's sources into it). */
export const COMMAND_BUNDLE = join(ROOT, 'dist', 'imsg-relay.cjs');

/** True when the bundle is missing or older than a source file the command loads. */
export function distStale(): boolean {
  const built = statSync(COMMAND_BUNDLE, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  return closure(COMMAND_MAIN).files.some((src) => built < statSync(src).mtimeMs);
}

/** Builds dist (npm run build) when the bundle is stale; parallel test files wait for one build. */
export async function ensureCommandBuilt(): Promise<void> {
  const lock = join(ROOT, 'dist', '.imsg-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const until = Date.now() + 300_000;
  for (;;) {
    if (!distStale()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is building (or a build died: its lock is taken over after 3 minutes).
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held !== undefined && Date.now() - held.mtimeMs > 180_000) rmdirSync(lock);
      if (Date.now() > until) throw new Error('timed out waiting for another build of dist');
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (!distStale()) return;
      await new Promise<void>((resolve, reject) => execFile('npm', ['run', 'build'], { cwd: ROOT, timeout: 280_000 },
        (err, stdout, stderr) => (err === null ? resolve() : reject(new Error(`npm run build failed: ${stdout}${stderr}`)))));
      return;
    } finally {
      rmdirSync(lock);
    }
  }
}
