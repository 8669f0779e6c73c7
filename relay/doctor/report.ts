// How doctor's results are shown: one line each (✓ passed, ✗ failed with its fix below, – skipped),
// or, with --json, one array of {name, status, detail, fix, source}.
import type { CheckResult } from './check.js';

const MARK = { ok: '✓', fail: '✗', skip: '–' } as const;

/** One check as text: `✓ name — detail (source)`, a failure's fix on the next line. */
export function formatLine(r: CheckResult): string {
  const from = r.source === null ? '' : ` (${r.source})`;
  const head = `${MARK[r.status]} ${r.name} — ${r.status === 'skip' ? 'skipped: ' : ''}${r.detail}${from}`;
  return r.fix === null ? `${head}\n` : `${head}\n    fix: ${r.fix}\n`;
}

/** The closing line: how many failed, or that all is well. */
export function formatSummary(results: readonly CheckResult[]): string {
  const failures = results.filter((r) => r.status === 'fail').length;
  const skips = results.filter((r) => r.status === 'skip').length;
  const skipped = skips === 0 ? '' : ` (${skips} skipped)`;
  return failures === 0 ? `\nall ${results.length - skips} checks passed${skipped}\n` : `\n${failures} of ${results.length - skips} checks failed${skipped}\n`;
}

/** The --json output: every line as an object, in order. */
export function formatJson(results: readonly CheckResult[]): string {
  return `${JSON.stringify(results.map((r) => ({ name: r.name, status: r.status, detail: r.detail, fix: r.fix, source: r.source })), null, 2)}\n`;
}

/** 1 when any check failed, else 0. */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
