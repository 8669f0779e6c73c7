// The LaunchAgent that keeps the Mac daemon running: `launchctl print gui/<uid>/<label>` answers
// (exit 0) when it is loaded, and its top level says whether the daemon runs or keeps crashing.
// Not a Mac: skipped, not failed.
import { parsePrint } from '../launchd/launchctl.js';
import type { CommandResult, RunOptions } from '../run-command.js';
import { failed, passed, skipped, type CheckResult } from './check.js';

/** The LaunchAgent's label (launchd/com.imessage-relay.plist). */
export const AGENT_LABEL = 'com.imessage-relay';

/** The platform, the user's launchd domain, and how to run launchctl. */
export interface LaunchdCheckDeps {
  readonly platform: NodeJS.Platform;
  readonly uid: number;
  readonly label: string;
  /** The launchctl binary (/bin/launchctl). */
  readonly launchctl: string;
  readonly run: (file: string, args: readonly string[], opts: RunOptions) => Promise<CommandResult>;
  /** The config the agent runs with (for the fix lines). */
  readonly configFile?: string;
}

/**
 * ✓ when the agent is loaded and its daemon runs; ✗ when it is not loaded (the install command), loaded
 * but stopped, or exiting again and again (the last exit and the log to read); skipped off macOS.
 */
export async function checkLaunchd(deps: LaunchdCheckDeps): Promise<CheckResult> {
  const name = 'launchd agent';
  if (deps.platform !== 'darwin') return skipped(name, `launchd is macOS only (this is ${deps.platform})`);
  const target = `gui/${deps.uid}/${deps.label}`;
  const plist = `~/Library/LaunchAgents/${deps.label}.plist`;
  const config = deps.configFile === undefined ? '' : ` --config ${deps.configFile}`;
  const r = await deps.run(deps.launchctl, ['print', target], { timeoutMs: 5000 });
  if (r.exitCode !== 0) {
    const why = r.timedOut ? 'launchctl did not answer' : `launchctl print exit ${r.exitCode ?? r.signal ?? '?'}: ${(r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? ''}`;
    return failed(name, `${target} is not loaded (${why})`,
      `install and load it: imessage-relay install${config} (or launchctl bootstrap gui/${deps.uid} ${plist})`);
  }
  const s = parsePrint(r.stdout);
  if (s.running) return passed(name, `${target} is running${s.pid === null ? '' : ` (pid ${s.pid})`}`);
  const exited = s.lastExit !== null && s.lastExit !== '(never exited)';
  const crashed = exited && s.lastExitCode !== 0;
  const runs = s.runs === null ? '' : `, ${s.runs} runs`;
  if (crashed) {
    return failed(name, `${target} is loaded but its daemon is not running: it exited with ${s.lastExit}${runs} (launchd restarts it after each crash)`,
      `read why it exits: imessage-relay logs${config}; fix that, then imessage-relay restart`);
  }
  return failed(name, `${target} is loaded but its daemon is not running (state = ${s.state ?? 'unknown'}${exited ? `, last exit ${s.lastExit}` : ''}${runs})`,
    'start it: imessage-relay restart');
}
