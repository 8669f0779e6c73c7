// launchctl for our LaunchAgent in the user's GUI domain (gui/<uid>): bootstrap, bootout, kickstart
// and print, each an argv (never a shell string), their failures mapped to stable codes, and the
// parts of `launchctl print` we rely on (state, pid, last exit code) read from its top level.
import { RelayError } from '../errors.js';
import type { CommandResult } from '../run-command.js';
import { AGENT_LABEL } from './agent-plist.js';

/** What `launchctl print gui/<uid>/<label>` says about the agent. */
export interface AgentStatus {
  /** launchd knows the agent (it was bootstrapped). */
  readonly loaded: boolean;
  /** launchd's word for it: "running", "not running", "spawn scheduled", … (null when not loaded). */
  readonly state: string | null;
  readonly running: boolean;
  readonly pid: number | null;
  /** As printed: "(never exited)", "0", "78: EX_CONFIG", or the signal ("Killed: 9"). */
  readonly lastExit: string | null;
  /** The number in lastExit (null for never exited, or a signal). */
  readonly lastExitCode: number | null;
  readonly runs: number | null;
}

export interface LaunchctlDeps {
  readonly uid: number;
  /** Runs `launchctl <args…>` (run-command.ts with the caller's environment). */
  readonly run: (args: readonly string[]) => Promise<CommandResult>;
}

/** launchctl's "no such service" answers: `Could not find service …` (113) and `Boot-out failed: 3: No such process`. */
const NOT_FOUND = new Set([3, 113]);

const NOT_LOADED: AgentStatus = { loaded: false, state: null, running: false, pid: null, lastExit: null, lastExitCode: null, runs: null };

/** Reads the top-level `key = value` lines of `launchctl print <service>` (nested blocks are skipped). */
export function parsePrint(text: string): AgentStatus {
  const top = new Map<string, string>();
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '}') { depth--; continue; }
    const m = /^([^=]+?) = (.*)$/.exec(line);
    if (depth === 1 && m !== null && !m[2]!.endsWith('{')) top.set(m[1]!, m[2]!);
    if (line.endsWith('{')) depth++;
  }
  const int = (v: string | undefined): number | null => (v !== undefined && /^-?\d+/.test(v) ? Number.parseInt(v, 10) : null);
  const state = top.get('state') ?? null;
  const signal = top.get('last terminating signal');
  const lastExit = top.get('last exit code') ?? signal ?? null;
  return {
    loaded: true, state, running: state === 'running', pid: state === 'running' ? int(top.get('pid')) : null,
    lastExit, lastExitCode: int(top.get('last exit code')), runs: int(top.get('runs')),
  };
}

/** The first line of what launchctl said, for an error message. */
const said = (r: CommandResult): string => (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';

export class Launchctl {
  /** `gui/<uid>`: the domain of the user's login session (Messages and the permissions live there). */
  readonly domain: string;
  /** `gui/<uid>/com.imessage-relay`. */
  readonly service: string;

  constructor(private readonly deps: LaunchctlDeps) {
    this.domain = `gui/${deps.uid}`;
    this.service = `${this.domain}/${AGENT_LABEL}`;
  }

  /** The argv of each call, as run (for --dry-run). */
  argv = {
    bootstrap: (plist: string): string[] => ['bootstrap', this.domain, plist],
    bootout: (): string[] => ['bootout', this.service],
    kickstart: (): string[] => ['kickstart', '-k', this.service],
    print: (): string[] => ['print', this.service],
  };

  private failed(r: CommandResult, args: readonly string[], code = 'LAUNCHD_FAILED', hint = ''): RelayError {
    const exit = r.exitCode ?? (r.timedOut ? 'timed out' : 'not run');
    return new RelayError(code, `launchctl ${args[0]} failed (${exit}): ${said(r) || 'no message'}${hint}`, { subcommand: args[0]!, exit: r.exitCode });
  }

  /** The agent's state; `loaded: false` when launchd does not know it. @throws RelayError LAUNCHD_FAILED */
  async status(): Promise<AgentStatus> {
    const args = this.argv.print();
    const r = await this.deps.run(args);
    if (r.exitCode === 0) return parsePrint(r.stdout);
    if (r.exitCode !== null && NOT_FOUND.has(r.exitCode)) return NOT_LOADED;
    throw this.failed(r, args);
  }

  /** Stops and unloads the agent; false when it was not loaded. @throws RelayError LAUNCHD_FAILED */
  async bootout(): Promise<boolean> {
    const args = this.argv.bootout();
    const r = await this.deps.run(args);
    if (r.exitCode === 0) return true;
    if (r.exitCode !== null && NOT_FOUND.has(r.exitCode)) return false;
    throw this.failed(r, args);
  }

  /**
   * Loads (and, with RunAtLoad, starts) the agent from its plist.
   * @throws RelayError LAUNCHD_BOOTSTRAP_FAILED (launchctl's error 5: still loaded, or launchd refused the plist), LAUNCHD_FAILED
   */
  async bootstrap(plist: string): Promise<void> {
    const args = this.argv.bootstrap(plist);
    const r = await this.deps.run(args);
    if (r.exitCode === 0) return;
    if (r.exitCode === 5) {
      throw this.failed(r, args, 'LAUNCHD_BOOTSTRAP_FAILED',
        ` — the agent is still loaded (a previous instance is stopping) or launchd refused the plist; see \`launchctl print ${this.service}\` and the plist with \`plutil -lint ${plist}\``);
    }
    throw this.failed(r, args);
  }

  /** Kills and restarts the running agent. @throws RelayError LAUNCHD_NOT_LOADED, LAUNCHD_FAILED */
  async kickstart(): Promise<void> {
    const args = this.argv.kickstart();
    const r = await this.deps.run(args);
    if (r.exitCode === 0) return;
    if (r.exitCode !== null && NOT_FOUND.has(r.exitCode)) {
      throw new RelayError('LAUNCHD_NOT_LOADED', `the LaunchAgent ${AGENT_LABEL} is not loaded (${said(r)}): run "imessage-relay install" first`, { subcommand: 'kickstart', exit: r.exitCode });
    }
    throw this.failed(r, args);
  }
}
