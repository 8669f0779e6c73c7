// `npm run mutate [-- options]`: plants one plausible bug at a time in a critical module, runs that
// module's tests, and puts the file back (always: in a finally, on Ctrl-C, and from a journal if the
// previous run was killed). A mutant the tests catch is "killed"; one they miss "survived". The
// score (killed / judged) goes to bench/mutation-results.json, beside bench/results.json.
//
// Options: --list, --check (each mutant's search text is found once and the result parses), --only id,id,
// --match text (ids or files containing it), --no-baseline, --timeout seconds (per test run).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { MUTANTS, TESTS, type Mutant } from './mutants.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'mutation-results.json');
/** The original text of the file being mutated, written before the mutant: a killed run is repaired at the next start. */
const JOURNAL = join(ROOT, 'bench', '.mutate-journal.json');

type Status = 'killed' | 'survived' | 'stale' | 'no-baseline' | 'invalid';
interface Outcome {
  readonly id: string;
  readonly file: string;
  readonly status: Status;
  readonly note: string;
  readonly tests: readonly string[];
  /** The first failing test (for killed mutants). */
  readonly caughtBy: string | null;
  readonly seconds: number;
  readonly commit: string;
  readonly at: string;
}

interface Applied { readonly path: string; readonly original: string }
let applied: Applied | null = null;
let child: ReturnType<typeof spawn> | null = null;

/** Puts the mutated file back (synchronously: also from signal and exit handlers). */
function revert(): void {
  if (applied !== null) {
    writeFileSync(applied.path, applied.original);
    applied = null;
  }
  rmSync(JOURNAL, { force: true });
}

function recoverFromJournal(): void {
  if (!existsSync(JOURNAL)) return;
  const j = JSON.parse(readFileSync(JOURNAL, 'utf8')) as Applied;
  writeFileSync(j.path, j.original);
  rmSync(JOURNAL, { force: true });
  process.stderr.write(`restored ${j.path} left mutated by an interrupted run\n`);
}

function killChild(): void {
  if (child?.pid !== undefined && child.exitCode === null) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killChild();
    revert();
    process.stderr.write(`\n${sig}: mutant reverted, stopping\n`);
    process.exit(130);
  });
}
process.on('exit', () => { killChild(); revert(); });
process.on('uncaughtException', (err) => { killChild(); revert(); process.stderr.write(`${err.stack ?? String(err)}\n`); process.exit(1); });

/** Syntax errors in a mutated file: such a mutant is not a bug the tests could catch, only one the parser does. */
function syntaxErrors(file: string, text: string): string[] {
  const out = ts.transpileModule(text, { fileName: file, reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022 } });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

function occurrences(text: string, find: string): number {
  let n = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + 1)) n++;
  return n;
}

/** Runs the files one at a time (fastest first as listed), stopping at the first that fails. */
async function runTests(files: readonly string[], timeoutS: number): Promise<{ passed: boolean; failed: string | null; timedOut: boolean }> {
  for (const f of files) {
    const r = await runTestFile(f, timeoutS);
    if (!r.passed) return { ...r, failed: `${f}: ${r.failed ?? 'failed'}` };
  }
  return { passed: true, failed: null, timedOut: false };
}

/** Runs one test file in its own process group; resolves with pass/fail and the first failing test's name. */
function runTestFile(file: string, timeoutS: number): Promise<{ passed: boolean; failed: string | null; timedOut: boolean }> {
  const files = [file];
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${timeoutS * 1000}`, '--test-reporter=tap', ...files];
    const c = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', () => undefined);
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; killChild(); }, (timeoutS + 30) * 1000);
    c.on('exit', (code) => {
      clearTimeout(timer);
      // Daemons a test started (same process group) must not outlive it, even when a mutant made one hang.
      try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* the group is empty */ }
      child = null;
      const failed = /^\s*not ok \d+ - (.+)$/m.exec(out.split('\n').filter((l) => /^\s{4,}not ok/.test(l)).join('\n'))?.[1]
        ?? /^\s*not ok \d+ - (.+)$/m.exec(out)?.[1] ?? null;
      resolve({ passed: code === 0 && !timedOut, failed: timedOut ? `timed out after ${timeoutS + 30} s` : failed, timedOut });
    });
  });
}

function args(): { list: boolean; check: boolean; only: string[] | null; match: string | null; baseline: boolean; timeoutS: number } {
  const a = process.argv.slice(2);
  const value = (flag: string): string | null => { const i = a.indexOf(flag); return i === -1 ? null : a[i + 1] ?? null; };
  return {
    list: a.includes('--list'), check: a.includes('--check'), only: value('--only')?.split(',') ?? null, match: value('--match'),
    baseline: !a.includes('--no-baseline'), timeoutS: Number(value('--timeout') ?? 300),
  };
}

function testsFor(m: Mutant): readonly string[] {
  const t = m.tests ?? TESTS[m.file];
  if (t === undefined) throw new Error(`no tests mapped for ${m.file} (mutant ${m.id})`);
  return t;
}

async function main(): Promise<void> {
  recoverFromJournal();
  const o = args();
  const chosen = MUTANTS.filter((m) => (o.only === null || o.only.includes(m.id)) && (o.match === null || m.id.includes(o.match) || m.file.includes(o.match)));
  if (o.list) {
    for (const m of chosen) process.stdout.write(`${m.id.padEnd(30)} ${m.file.padEnd(36)} ${m.note}\n`);
    return;
  }
  const stale: string[] = [];
  for (const m of chosen) {
    const text = readFileSync(join(ROOT, m.file), 'utf8');
    const n = occurrences(text, m.find);
    if (n !== 1) stale.push(`${m.id}: search text found ${n} times in ${m.file}`);
    else {
      const bad = syntaxErrors(m.file, text.replace(m.find, m.replace));
      if (bad.length > 0) stale.push(`${m.id}: the mutated file does not parse (${bad[0]})`);
    }
    if (m.find === m.replace) throw new Error(`${m.id} changes nothing`);
  }
  if (o.check) {
    process.stdout.write(stale.length === 0 ? `all ${chosen.length} mutants apply\n` : `${stale.join('\n')}\n`);
    process.exitCode = stale.length === 0 ? 0 : 1;
    return;
  }
  // MUTATE_COMMIT names the commit when the run is made in a copy of the tree (no .git there).
  let commit = process.env['MUTATE_COMMIT'] ?? 'unknown';
  if (commit === 'unknown') {
    try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
  }

  // Baseline: a test set must pass unmutated, or a "kill" would mean nothing.
  const broken = new Set<string>();
  if (o.baseline) {
    const sets = [...new Set(chosen.map((m) => testsFor(m).join(' ')))];
    for (const set of sets) {
      const t0 = Date.now();
      const r = await runTests(set.split(' '), o.timeoutS);
      process.stdout.write(`baseline ${r.passed ? 'ok  ' : 'FAIL'} ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  ${set}${r.passed ? '' : ` (${r.failed})`}\n`);
      if (!r.passed) broken.add(set);
    }
  }

  const outcomes: Outcome[] = [];
  for (const m of chosen) {
    const tests = testsFor(m);
    const path = join(ROOT, m.file);
    const original = readFileSync(path, 'utf8');
    const base = { id: m.id, file: m.file, note: m.note, tests, commit, at: new Date().toISOString() };
    if (occurrences(original, m.find) !== 1) {
      outcomes.push({ ...base, status: 'stale', caughtBy: null, seconds: 0 });
      process.stdout.write(`stale    ${m.id} (search text not found once in ${m.file})\n`);
      continue;
    }
    const errors = syntaxErrors(m.file, original.replace(m.find, m.replace));
    if (errors.length > 0) {
      outcomes.push({ ...base, status: 'invalid', caughtBy: errors[0]!, seconds: 0 });
      process.stdout.write(`invalid  ${m.id} (does not parse: ${errors[0]})\n`);
      continue;
    }
    if (broken.has(tests.join(' '))) {
      outcomes.push({ ...base, status: 'no-baseline', caughtBy: null, seconds: 0 });
      continue;
    }
    const t0 = Date.now();
    let result;
    writeFileSync(JOURNAL, JSON.stringify({ path, original }));
    applied = { path, original };
    try {
      writeFileSync(path, original.replace(m.find, m.replace));
      result = await runTests(tests, o.timeoutS);
    } finally {
      revert();
    }
    if (readFileSync(path, 'utf8') !== original) throw new Error(`${m.file} was not restored`);
    const seconds = Math.round((Date.now() - t0) / 1000);
    const status: Status = result.passed ? 'survived' : 'killed';
    outcomes.push({ ...base, status, caughtBy: result.passed ? null : result.failed, seconds });
    process.stdout.write(`${status.padEnd(8)} ${String(seconds).padStart(4)} s  ${m.id}${result.passed ? `  — ${m.note}` : ''}\n`);
  }

  // Merge with earlier runs (a subset run updates its mutants only), keep the current list's order.
  let previous: Outcome[] = [];
  try { previous = (JSON.parse(readFileSync(RESULTS, 'utf8')) as { mutants: Outcome[] }).mutants; } catch { previous = []; }
  const byId = new Map(previous.map((x) => [x.id, x]));
  for (const x of outcomes) byId.set(x.id, x);
  const all = MUTANTS.map((m) => byId.get(m.id)).filter((x): x is Outcome => x !== undefined);
  const killed = all.filter((x) => x.status === 'killed').length;
  const survived = all.filter((x) => x.status === 'survived').length;
  const score = killed + survived === 0 ? null : Math.round((1000 * killed) / (killed + survived)) / 10;
  writeFileSync(RESULTS, `${JSON.stringify({
    score_percent: score, killed, survived, judged: killed + survived, listed: MUTANTS.length,
    not_judged: all.filter((x) => x.status !== 'killed' && x.status !== 'survived').map((x) => `${x.id} (${x.status})`),
    survivors: all.filter((x) => x.status === 'survived').map((x) => x.id),
    mutants: all,
  }, null, 2)}\n`);
  process.stdout.write(`\nthis run: ${outcomes.filter((x) => x.status === 'killed').length} killed, ${outcomes.filter((x) => x.status === 'survived').length} survived` +
    `\nall recorded: score ${score ?? '—'} % (${killed} of ${killed + survived} judged; ${MUTANTS.length} listed) → bench/mutation-results.json\n`);
}

await main();
