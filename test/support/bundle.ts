// Test support: our TypeScript entry points bundled once per content by esbuild (the compiler tsx
// itself uses), so that each child process starts as plain Node instead of loading tsx and
// transpiling the whole daemon again: ~1 s of CPU saved per daemon start, and the suite starts
// hundreds. The output lands in a folder named by its content hash: test processes building at the
// same time share one result, and any source change (a mutant too) makes a new folder.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildSync } from 'esbuild';

export interface BundleRequest {
  /** Output name (without extension) → entry file. The first entry gets `executable`. */
  readonly entries: Readonly<Record<string, string>>;
  /** Folder the hashed folder is created in. It must be as deep below the repository as the code's
   *  `new URL('../../…', import.meta.url)` look-ups expect (two levels, like relay/<area>/). */
  readonly root: string;
  /** Start of the hashed folder's name (default none). */
  readonly prefix?: string;
  /** Name the first entry's file gets (default `<name>.mjs`), with a `#!/usr/bin/env node` line and mode 0755. */
  readonly executable?: string;
}

/** Builds (or finds) the bundle and returns its files' paths by entry name. */
export function bundle(req: BundleRequest): Record<string, string> {
  const out = buildSync({
    entryPoints: req.entries, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    packages: 'external', outdir: 'out', outExtension: { '.js': '.mjs' }, write: false, logLevel: 'silent',
    banner: { js: '#!/usr/bin/env node' },
  });
  const names = Object.keys(req.entries);
  const fileName = (p: string): string => {
    const name = basename(p, '.mjs');
    return name === names[0] && req.executable !== undefined ? req.executable : `${name}.mjs`;
  };
  const hash = createHash('sha256');
  for (const f of out.outputFiles) hash.update(fileName(f.path)).update(f.contents);
  const dir = join(req.root, `${req.prefix ?? ''}${hash.digest('hex').slice(0, 16)}`);
  const paths = Object.fromEntries(names.map((n) => [n, join(dir, n === names[0] && req.executable !== undefined ? req.executable : `${n}.mjs`)]));
  if (Object.values(paths).every((p) => existsSync(p))) return paths;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  for (const f of out.outputFiles) writeFileSync(join(tmp, fileName(f.path)), f.contents);
  chmodSync(join(tmp, fileName(`${names[0]}.mjs`)), 0o755);
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process built the same bundle first
  }
  return paths;
}
