// Runs a program with execFile: an argument vector, never a shell string; the inherited environment;
// a timeout after which the process (and only it) is killed. The one place child_process is used.
import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** Output beyond this is an error (default 4 MiB). */
  readonly maxBuffer?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the program's stdin, which is then closed (e.g. a key for `wg pubkey`). */
  readonly input?: string;
}

/** The shape of {@link runCommand}, for modules that take a runner in their deps (tests pass a fake). */
export type RunCommand = (file: string, args: readonly string[], opts: RunOptions) => Promise<CommandResult>;

/** Runs `file args…`; resolves in every case (a failure to start shows as exitCode null and stderr). */
export function runCommand(file: string, args: readonly string[], opts: RunOptions): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(file, [...args], {
      encoding: 'utf8', timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: opts.maxBuffer ?? 4 * 1024 * 1024,
      env: opts.env ?? process.env, windowsHide: true,
    }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null; code?: number | string }) | null;
      const timedOut = e !== null && e.killed === true && Date.now() - started >= opts.timeoutMs - 5;
      const exitCode = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
      const startFailure = e !== null && typeof e.code === 'string' ? `${e.code}: ${e.message}` : '';
      resolve({
        exitCode, signal: e?.signal ?? null, stdout, stderr: startFailure === '' ? stderr : `${stderr}${startFailure}`,
        timedOut, durationMs: Date.now() - started,
      });
    });
    // A program that exits without reading its stdin makes the write fail with EPIPE: its exit says what happened.
    child.stdin?.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
