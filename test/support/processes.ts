// Real child processes for end-to-end tests: the CLI bundled from today's sources (run to completion,
// or running with its JSON log lines collected and waited on), and kill -9.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.js';

export const CLI = fileURLToPath(new URL('../../relay/cli.ts', import.meta.url));
/** The compiled CLI (after `npm run build`), as production runs it: used by the benchmarks. */
export const COMPILED_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

let bundledCli: string | undefined;

/**
 * The node arguments that run `imessage-relay`: relay/cli.ts bundled by esbuild (test/support/bundle.ts)
 * into `.tmp/cli-<hash>/` of this repository, two folders deep like relay/<area>/, so the code's own
 * `new URL('../../applescript/', import.meta.url)` look-ups find the repository's files. The same
 * code tsx would run, without ~1 s of start-up CPU per process.
 */
export function cliArgs(): string[] {
  bundledCli ??= bundle({ entries: { cli: CLI }, root: fileURLToPath(new URL('../../.tmp/', import.meta.url)), prefix: 'cli-' })['cli']!;
  return [bundledCli];
}

const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A TCP port free right now on 127.0.0.1, taken below Linux's ephemeral range (32768–60999).
 * A port from that range can be taken, between a kill -9 and the restart, as the source port of
 * any outgoing connection on the machine, and the restarted server then fails with ADDRESS_IN_USE.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free TCP port found in 20000–31999');
}

export interface CliResult {
  /** Exit code; -1 when the process was still running at the timeout (a hang, never mistaken for an exit). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `imessage-relay <args>` to completion (the one CLI runner of the test suite), in `cwd` if
 * given (the bundle is named by its full path, so any folder will do), with `env` over the test's own.
 */
export function runCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; as?: { uid: number; gid: number }; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cliArgs(), ...args], {
      encoding: 'utf8', env: { ...process.env, ...opts.env }, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, ...opts.as,
    }, (err, stdout, stderr) => resolve({
      code: err === null ? 0 : (err as { killed?: boolean }).killed === true ? -1 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1, stdout, stderr,
    }));
  });
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [k: string]: unknown;
}

/** One run of `imessage-relay <args>` in a child process. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  private partial = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `prefix`: a program that runs the CLI, e.g. `ip netns exec <ns>` (a daemon in a network namespace). */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}, compiled = false, prefix: readonly string[] = []) {
    const [file, ...pre] = [...prefix, process.execPath];
    this.child = spawn(file!, [...pre, ...(compiled ? [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), COMPILED_CLI, ...args] : [...cliArgs(), ...args])], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      const parts = (this.partial + d.toString()).split('\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) {
        try { this.lines.push(JSON.parse(p) as LogLine); } catch { /* not a log line */ }
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first log line whose msg matches (already seen or yet to come). */
  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<LogLine> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => pattern.test(l.msg));
      if (hit !== undefined) return hit;
      if (this.child.exitCode !== null || Date.now() > until) {
        throw new Error(`no log line matching ${pattern} (exit ${this.child.exitCode}); stderr: ${this.stderr.slice(-2000)}; stdout tail: ${this.stdout.slice(-1500)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill9(): Promise<unknown> {
    this.child.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** What one finished run of the CLI printed (the name some suites use). */
export type CliRun = CliResult;
