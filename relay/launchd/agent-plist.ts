// The LaunchAgent property list for `imessage-relay run`, built with the plist package (the one
// module that uses it): absolute paths only, restart after a crash, logs in the data folder.
import { build } from 'plist';
import { dirname, isAbsolute, join } from 'node:path';
import { RelayError } from '../errors.js';

/** The agent's launchd label (and its plist's name in ~/Library/LaunchAgents). */
export const AGENT_LABEL = 'com.imessage-relay';

/** Seconds launchd waits before starting the daemon again after it exited. */
export const THROTTLE_SECONDS = 10;

export interface AgentSpec {
  /** The node binary: the program macOS asks Full Disk Access and Automation for. */
  readonly node: string;
  /** bin/imessage-relay.js of this package. */
  readonly entry: string;
  readonly config: string;
  /** The relay's data folder; launchd's own output goes to `<dataDir>/logs/`. */
  readonly dataDir: string;
  /** True when the daemon logs to a file of its own (log.file): its stdout copy is then not kept again. */
  readonly logsToFile: boolean;
}

/** Where launchd writes what the daemon prints outside its logger (start failures, crashes). */
export function launchdLogs(spec: Pick<AgentSpec, 'dataDir' | 'logsToFile'>): { stdout: string; stderr: string } {
  const logs = join(spec.dataDir, 'logs');
  return { stdout: spec.logsToFile ? '/dev/null' : join(logs, 'launchd.out.log'), stderr: join(logs, 'launchd.err.log') };
}

/** PATH for the daemon: node's own folder first, then Homebrew's (wg) and the system's. */
export function agentPath(node: string): string {
  return [...new Set([dirname(node), '/opt/homebrew/bin', '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'])].join(':');
}

/**
 * The plist XML. KeepAlive restarts the daemon when it exits with an error or is killed (a clean
 * exit 0 after SIGTERM stays stopped); ThrottleInterval spaces restarts; Interactive keeps macOS
 * from throttling its timers (replies go out promptly).
 * @throws RelayError LAUNCHD_BAD_PATH when a path is not absolute
 */
export function renderAgentPlist(spec: AgentSpec): string {
  for (const [what, p] of [['node', spec.node], ['entry', spec.entry], ['config', spec.config], ['dataDir', spec.dataDir]] as const) {
    if (!isAbsolute(p)) throw new RelayError('LAUNCHD_BAD_PATH', `the LaunchAgent needs absolute paths; ${what} is ${JSON.stringify(p)}`, { what });
  }
  const logs = launchdLogs(spec);
  return build({
    Label: AGENT_LABEL,
    ProgramArguments: [spec.node, spec.entry, 'run', '--config', spec.config],
    WorkingDirectory: spec.dataDir,
    EnvironmentVariables: { PATH: agentPath(spec.node) },
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: THROTTLE_SECONDS,
    ProcessType: 'Interactive',
    StandardOutPath: logs.stdout,
    StandardErrorPath: logs.stderr,
  });
}
