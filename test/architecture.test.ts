// The layering in README "Module map", held by a test: which folders may import which, where each
// third-party library may be used, and no shell strings anywhere.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { closure, COMMAND_MAIN } from './support/imsg-build.js';

const ROOT = fileURLToPath(new URL('../relay/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const sources = files(ROOT).map((p) => ({ path: relative(ROOT, p), text: readFileSync(p, 'utf8') }));
const imports = (text: string): string[] => [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
const folder = (path: string): string => (path.includes('/') ? path.split('/')[0]! : '.');
function target(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const resolved = relative(ROOT, join(ROOT, from, '..', spec));
  return folder(resolved);
}

/** Which of our folders each folder may import (besides itself and the root files errors/clock/logger). */
const ALLOWED: Record<string, readonly string[]> = {
  model: [],
  typedstream: [],
  chatdb: ['model', 'typedstream'],
  simulator: ['messages-app', 'model'],
  link: ['model'],
  store: ['model'],
  health: [],
  config: ['model'],
  tunnel: ['health'],
  mac: ['chatdb', 'config', 'health', 'link', 'messages-app', 'model', 'store', 'tunnel'],
  hub: ['assistant', 'config', 'health', 'link', 'model', 'store', 'tunnel'],
  assistant: ['config', 'health', 'model', 'store'],
  'messages-app': ['model'],
  doctor: ['chatdb', 'config', 'launchd', 'link', 'messages-app', 'store', 'tunnel'],
  cli: ['chatdb', 'config', 'doctor', 'hub', 'launchd', 'link', 'mac', 'model', 'simulator', 'systemd', 'tunnel', 'typedstream'],
  launchd: [],
  systemd: [],
  imsg: [],
  '.': ['cli', 'model'],
};

/** Third-party modules and the only files that may import them. */
const LIBRARIES: Record<string, RegExp> = {
  'better-sqlite3': /^(chatdb\/(connection|queries|capabilities)\.ts|simulator\/|store\/)/,
  'bplist-parser': /^chatdb\/edit-history\.ts$/,
  pino: /^(logger\.ts|cli\/io\.ts)$/,
  'pino-pretty': /^cli\/logs\.ts$/,
  'pino-roll': /^logger\.ts$/,
  ws: /^link\//,
  tweetnacl: /^link\//,
  'node-cron': /^scheduler\.ts$/,
  plist: /^launchd\/agent-plist\.ts$/,
  'node:child_process': /^run-command\.ts$/,
  openai: /^assistant\/model-client\.ts$/,
  busboy: /^hub\/multipart\.ts$/,
  'prom-client': /^health\/metrics\.ts$/,
};

describe('architecture', () => {
  it('folders import only what the layering allows', () => {
    const bad: string[] = [];
    for (const s of sources) {
      const from = folder(s.path);
      for (const spec of imports(s.text)) {
        const to = target(s.path, spec);
        if (to === null || to === from || to === '.') continue;
        if (!(ALLOWED[from] ?? []).includes(to)) bad.push(`${s.path} imports ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('each third-party library sits behind its one module', () => {
    const bad: string[] = [];
    for (const s of sources) {
      for (const spec of imports(s.text)) {
        const rule = LIBRARIES[spec];
        if (rule !== undefined && !rule.test(s.path)) bad.push(`${s.path} imports ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('no shell strings: no exec/execSync/spawn with shell, no eval', () => {
    const shell = /\bexecSync\b|\{[^}]*\bexec\b[^}]*\}\s*from\s*'node:child_process'|child_process['"]?\)?\.exec\(|shell:\s*true|\beval\(|new Function\(/;
    const bad = sources.filter((s) => shell.test(s.text)).map((s) => s.path);
    assert.deepEqual(bad, []);
  });

  it('imsg-relay starts cheap: what it loads is its own folder, errors.ts and node: built-ins (no SQLite, ws, pino, tweetnacl, link)', () => {
    const { files, modules } = closure(COMMAND_MAIN);
    assert.ok(files.length > 5, 'the walk found the command');
    assert.deepEqual(files.map((f) => relative(ROOT, f)).filter((f) => !f.startsWith('imsg/') && f !== 'errors.ts'), []);
    assert.deepEqual(modules.filter((m) => !m.startsWith('node:')), []);
  });

  it('source files stay small (one concern each)', () => {
    const big = sources.filter((s) => s.text.split('\n').length > 350).map((s) => s.path);
    assert.deepEqual(big, []);
  });
});
