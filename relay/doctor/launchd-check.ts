// The LaunchAgent that keeps the Mac daemon running: `launchctl print gui/<uid>/<label>` answers
// (exit 0) when it is loaded. Not a Mac: skipped, not failed.
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
}

/** ✓ when `launchctl print gui/<uid>/<label>` answers; ✗ with the bootstrap command; skipped off macOS. */
export async function checkLaunchd(deps: LaunchdCheckDeps): Promise<CheckResult> {
  const name = 'launchd agent';
  if (deps.platform !== 'darwin') return skipped(name, `launchd is macOS only (this is ${deps.platform})`);
  const target = `gui/${deps.uid}/${deps.label}`;
  const plist = `~/Library/LaunchAgents/${deps.label}.plist`;
  const r = await deps.run(deps.launchctl, ['print', target], { timeoutMs: 5000 });
  if (r.exitCode === 0) {
    const state = /^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim();
    return passed(name, `${target} is loaded${state === undefined ? '' : ` (state = ${state})`}`);
  }
  const why = r.timedOut ? 'launchctl did not answer' : `launchctl print exit ${r.exitCode ?? r.signal ?? '?'}: ${(r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? ''}`;
  return failed(name, `${target} is not loaded (${why})`,
    `load it: launchctl bootstrap gui/${deps.uid} ${plist} (from the template launchd/${deps.label}.plist, filled in and copied there)`);
}
