// `imsg-relay` run exactly as OpenClaw runs it: the launcher at cliPath as a child process, argv of
// contract §2.1, the test's environment plus IMSG_RELAY_CONFIG, stdin/stdout pipes. Every process is
// checked the same way: stdout holds only whole JSON-RPC 2.0 lines, stderr stays silent, and an `rpc`
// process exits 0 within 500 ms of stdin EOF.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { LAUNCHER } from './imsg-build.js';

export type Line = Record<string, unknown> & { jsonrpc: '2.0'; id?: unknown; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

/** A `message` notification's message object. */
export type Msg = Record<string, unknown> & { id: number; guid: string; chat_id: number; is_from_me: boolean; text?: string };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** ms from stdin EOF (or the signal) to the exit. */
  readonly afterMs: number;
}

/** Runs a one-shot subcommand (`status --json`, `rpc --help`, …) with stdin closed: its code and output. */
export function runImsg(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(LAUNCHER, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: performance.now() - started }); });
  });
}

/** One `imsg-relay rpc --json` process with its stdout parsed line by line. */
export class ImsgProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  /** Stdout lines that are not a JSON-RPC 2.0 object (must stay empty). */
  readonly impure: string[] = [];
  /** Attachment files named (missing: false) by a message line, and whether each was a regular file when its line arrived. */
  readonly filesAtLine = new Map<string, boolean>();
  stdout = '';
  stderr = '';
  private tail = '';
  private nextId = 1;
  private eofAt: number | null = null;
  readonly spawnedAt = performance.now();
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();

  constructor(configFile: string, args: readonly string[] = ['rpc', '--json']) {
    this.child = spawn(LAUNCHER, args, { env: { ...process.env, IMSG_RELAY_CONFIG: configFile }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      this.stdout += d;
      const parts = (this.tail + d).split('\n');
      this.tail = parts.pop()!;
      for (const p of parts) {
        try {
          const v = JSON.parse(p) as unknown;
          if (typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Line).jsonrpc === '2.0') {
            this.lines.push(v as Line);
            this.noteFiles(v as Line);
          }
          else this.impure.push(p);
        } catch {
          this.impure.push(p);
        }
      }
      for (const w of [...this.waiters]) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.child.stdin!.on('error', () => { /* the process may be gone (kill tests) */ });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      resolve({ code, signal, afterMs: this.eofAt === null ? Number.NaN : performance.now() - this.eofAt });
      for (const w of [...this.waiters]) w();
    }));
  }

  /** Records, the moment a line arrives, whether each attachment it names is on disk. */
  private noteFiles(l: Line): void {
    const msgs = l.method === 'message' ? [(l.params as { message: Msg }).message] : Array.isArray(l.result?.['messages']) ? l.result!['messages'] as Msg[] : [];
    for (const m of msgs) {
      for (const a of (m['attachments'] ?? []) as Array<{ original_path?: string; missing: boolean }>) {
        if (a.missing || a.original_path === undefined) continue;
        let file = false;
        try { file = lstatSync(a.original_path).isFile(); } catch { file = false; }
        this.filesAtLine.set(a.original_path, file);
      }
    }
  }

  /** Writes one raw line (LF added). */
  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Sends a request with the next integer id (or `id`) and resolves with its response line. */
  async request(method: string, params: Record<string, unknown> = {}, timeoutMs = 15_000, id: number | string = this.nextId++): Promise<Line> {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return this.waitFor((l) => l.id === id && !('method' in l), `the response to ${method} (id ${String(id)})`, timeoutMs);
  }

  /** The first line (already received or yet to come) matching `match`. */
  waitFor(match: (l: Line) => boolean, what: string, timeoutMs = 15_000): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = this.lines.find(match);
        if (hit !== undefined) { done(); resolve(hit); return; }
        if (this.child.exitCode !== null || this.child.signalCode !== null) { done(); reject(new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}; stderr: ${this.stderr}`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; stdout: ${this.stdout.slice(-2000)} stderr: ${this.stderr.slice(-1000)}`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** The `message` notifications so far, in order. */
  messages(): Msg[] {
    return this.lines.filter((l) => l.method === 'message').map((l) => (l.params as { message: Msg }).message);
  }

  /** Resolves with the message notification of row `id` once it is written. */
  async message(id: number, timeoutMs = 15_000): Promise<Msg> {
    const l = await this.waitFor((x) => x.method === 'message' && (x.params as { message: Msg }).message.id === id, `the message notification of row ${id}`, timeoutMs);
    return (l.params as { message: Msg }).message;
  }

  /** Subscribes and returns the subscription id (checked: a positive integer). */
  async subscribe(params: Record<string, unknown>): Promise<number> {
    const r = await this.request('watch.subscribe', params, 10_000);
    assert.equal(r.error, undefined, `subscribe failed: ${JSON.stringify(r.error)}`);
    const s = r.result!['subscription'];
    assert.ok(typeof s === 'number' && Number.isInteger(s) && s > 0, `subscription ${String(s)}`);
    return s;
  }

  /** Checks what every process must keep to: only JSON-RPC 2.0 lines, no partial line, stderr silent. */
  assertPure(opts: { stderr?: boolean } = {}): void {
    assert.deepEqual(this.impure, [], 'stdout holds only JSON-RPC 2.0 objects, one per line');
    assert.equal(this.tail, '', 'no partial line on stdout');
    if (opts.stderr !== false) assert.equal(this.stderr, '', 'stderr stays silent in normal operation');
    for (const [path, file] of this.filesAtLine) assert.ok(file, `${path} was a regular file when the line naming it was written`);
  }

  /**
   * Closes stdin (OpenClaw's way to stop it): exit 0 within 500 ms, and the purity checks. `early`:
   * stdin is closed before the process could have started (Node's own start-up is not counted then:
   * only exit 0 within 10 s of the spawn is checked).
   */
  async close(opts: { early?: boolean; stderr?: boolean } = {}): Promise<Exit> {
    this.eofAt = performance.now();
    this.child.stdin!.end();
    const exit = await Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    if (exit === null) {
      this.child.kill('SIGKILL');
      assert.fail('the process did not exit within 5 s of stdin EOF');
    }
    assert.equal(exit.code, 0, `exit status 0 after stdin EOF (stderr: ${this.stderr})`);
    if (opts.early === true) assert.ok(performance.now() - this.spawnedAt <= 10_000, 'exited within 10 s of the spawn');
    else assert.ok(exit.afterMs <= 500, `exited ${exit.afterMs.toFixed(0)} ms after stdin EOF (at most 500)`);
    this.assertPure(opts.stderr === false ? { stderr: false } : {});
    return exit;
  }

  /** Sends `signal` and resolves with the exit (afterMs counted from the signal). */
  async signal(signal: NodeJS.Signals): Promise<Exit> {
    this.eofAt = performance.now();
    this.child.kill(signal);
    return this.exited;
  }
}
