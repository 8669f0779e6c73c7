// What the doctor may touch of the machine, passed in so each check runs in tests against fakes of
// exactly the part a test cannot arrange (a nearly full disk, launchd on Linux).
import type { LinkProbeDeps, LinkProbeResult } from '../link/probe.js';
import type { CommandResult, RunOptions } from '../run-command.js';
import type { WgShow } from '../tunnel/wg.js';
import { failed, type CheckResult } from './check.js';
import type { StatFs } from './disk-check.js';

/** Everything the checks reach outside their arguments. */
export interface DoctorDeps {
  readonly env: NodeJS.ProcessEnv;
  /** Where `init --hub` wrote hub.json when no config is named. */
  readonly cwd: string;
  readonly home: string;
  readonly now: () => number;
  readonly platform: NodeJS.Platform;
  readonly uid: number;
  /** The program running the relay (node): what needs Full Disk Access and Automation. */
  readonly execPath: string;
  readonly statfs: StatFs;
  /** `wg show <iface> dump` for a `tunnel.command`. */
  readonly wg: (command: readonly string[]) => WgShow;
  readonly probeLink: (deps: LinkProbeDeps) => Promise<LinkProbeResult>;
  readonly run: (file: string, args: readonly string[], opts: RunOptions) => Promise<CommandResult>;
  readonly launchctl: string;
  readonly agentLabel: string;
  /** Deadline of each HTTP look and of the handshake. */
  readonly timeoutMs: number;
  /** Deadline of the osascript probe. */
  readonly osascriptTimeoutMs: number;
  /** Told of each result as soon as it is known (the text output prints as it goes). */
  readonly onResult?: (r: CheckResult) => void;
}

/** Runs a check, turning a surprise throw into a failed line rather than a crash. */
export async function guarded(name: string, fn: () => CheckResult | Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await fn();
  } catch (err) {
    return failed(name, `the check itself failed: ${(err as Error).message}`, 'run doctor again; if it persists, report it with this line');
  }
}
