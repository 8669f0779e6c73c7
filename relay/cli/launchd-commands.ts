// `imessage-relay install | uninstall | restart | status`: the Mac daemon as a LaunchAgent in the
// user's GUI session. `--dry-run` prints the plist and the exact launchctl commands, on any system.
import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { parseMacConfig } from '../config/mac-config.js';
import { RelayError } from '../errors.js';
import { AGENT_LABEL, launchdLogs, renderAgentPlist } from '../launchd/agent-plist.js';
import { Launchctl, type AgentStatus } from '../launchd/launchctl.js';
import { runCommand } from '../run-command.js';
import type { CliIo } from './io.js';

export const INSTALL_USAGE = `imessage-relay install [--config <file>] [--node <path>] [--dry-run]
  Installs the Mac daemon as a LaunchAgent (~/Library/LaunchAgents/${AGENT_LABEL}.plist, mode 0644) and
  starts it with launchctl bootstrap gui/<uid>. It runs "<node> bin/imessage-relay.js run --config <file>":
  that node binary (default: the one running this command) needs Full Disk Access and Automation.
  --dry-run prints the plist and the commands without doing anything (on any system).`;
export const UNINSTALL_USAGE = `imessage-relay uninstall [--dry-run]
  Stops the LaunchAgent (launchctl bootout) and removes its plist.`;
export const RESTART_USAGE = `imessage-relay restart [--dry-run]
  Restarts the running LaunchAgent (launchctl kickstart -k).`;
export const STATUS_USAGE = `imessage-relay status [--json] [--dry-run]
  Whether the LaunchAgent is loaded and running, its pid and last exit code (launchctl print).`;

/** What the launchd commands touch of the machine, passed in so tests can run the real path off macOS. */
export interface LaunchdCliDeps {
  readonly platform: NodeJS.Platform;
  readonly uid: number;
  readonly home: string;
  /** The environment launchctl runs with (its PATH finds launchctl). */
  readonly env: NodeJS.ProcessEnv;
  /** The node binary the agent runs (default: this process's). */
  readonly node: string;
  /** bin/imessage-relay.js of this package. */
  readonly entry: string;
  /** The compiled CLI the entry loads; install refuses when it is missing (a checkout not built). */
  readonly compiled: string | null;
  readonly sleep: (ms: number) => Promise<void>;
}

/** This process, this user and this package's files. */
export function defaultLaunchdDeps(): LaunchdCliDeps {
  return {
    platform: process.platform, uid: process.getuid?.() ?? -1, home: homedir(), env: process.env, node: process.execPath,
    entry: fileURLToPath(new URL('../../bin/imessage-relay.js', import.meta.url)),
    compiled: fileURLToPath(new URL('../../dist/cli.js', import.meta.url)),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

/** How often, and how far apart, a bootstrap refused with error 5 is tried (a bootout still draining). */
const BOOTSTRAP_TRIES = 3;
const BOOTSTRAP_PAUSE_MS = 1000;

const shown = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const line = (args: readonly string[]): string => ['launchctl', ...args].map(shown).join(' ');

function launchctl(deps: LaunchdCliDeps): Launchctl {
  return new Launchctl({ uid: deps.uid, run: (args) => runCommand('launchctl', args, { timeoutMs: 60_000, env: deps.env }) });
}

function needsMac(deps: LaunchdCliDeps, command: string): void {
  if (deps.platform !== 'darwin') {
    throw new RelayError('LAUNCHD_UNSUPPORTED', `"${command}" manages a macOS LaunchAgent and this is ${deps.platform}; "${command} --dry-run" prints what it would do`, { platform: deps.platform });
  }
}

const plistPath = (deps: LaunchdCliDeps): string => join(deps.home, 'Library', 'LaunchAgents', `${AGENT_LABEL}.plist`);

function describe(s: AgentStatus, plist: string, installed: boolean): string {
  if (!s.loaded) return `${AGENT_LABEL}: not loaded${installed ? ` (the plist is at ${plist}: "imessage-relay install" loads it)` : ' (not installed)'}\n`;
  const head = s.running ? `running, pid ${s.pid ?? '?'}` : (s.state ?? 'unknown state');
  return `${AGENT_LABEL}: ${head}\n  last exit: ${s.lastExit ?? 'none'}${s.runs === null ? '' : `\n  runs: ${s.runs}`}\n  plist: ${plist}\n`;
}

function checkRunnable(path: string, what: string, mode: number): void {
  try {
    accessSync(path, mode);
  } catch {
    throw new RelayError('LAUNCHD_BAD_PATH', `${what} ${path} is missing or not ${mode === constants.X_OK ? 'executable' : 'readable'}`, { what });
  }
}

/**
 * Writes the LaunchAgent and (re)loads it. Checks the config first (it must be one `run` accepts).
 * @throws RelayError LAUNCHD_UNSUPPORTED, LAUNCHD_BAD_PATH, LAUNCHD_BOOTSTRAP_FAILED, LAUNCHD_FAILED, CONFIG_*
 */
export async function installCommand(argv: readonly string[], io: CliIo, deps: LaunchdCliDeps = defaultLaunchdDeps()): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' }, node: { type: 'string' }, 'dry-run': { type: 'boolean' } }, strict: true });
  const dryRun = values['dry-run'] === true;
  if (!dryRun) needsMac(deps, 'install');
  const { node: cfgNode, file } = loadConfigFile(values.config, deps.env);
  const config = parseMacConfig(cfgNode, file);
  // launchd starts the agent in the data folder: every path it is given must be absolute (the config's already is).
  const spec = { node: resolve(values.node ?? deps.node), entry: deps.entry, config: file, dataDir: config.dataDir, logsToFile: config.log.file !== null };
  const xml = renderAgentPlist(spec);
  const plist = plistPath(deps);
  const lc = launchctl(deps);
  const logsDir = join(config.dataDir, 'logs');
  if (dryRun) {
    io.stdout(`# ${plist} (mode 0644)\n${xml}\n`);
    io.stdout(`# then (the data folder's logs/ made first, mode 0700: ${logsDir})\n${line(lc.argv.print())}   # loaded already? then first:\n`
      + `${line(lc.argv.bootout())}\n${line(lc.argv.bootstrap(plist))}\n`);
    return 0;
  }
  checkRunnable(spec.node, 'the node binary', constants.X_OK);
  checkRunnable(spec.entry, 'the entry point', constants.R_OK);
  if (deps.compiled !== null && !existsSync(deps.compiled)) {
    throw new RelayError('LAUNCHD_BAD_PATH', `${deps.compiled} is missing: run "npm run build" first (the agent runs the compiled CLI)`, { what: 'compiled' });
  }
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(deps.home, 'Library', 'LaunchAgents'), { recursive: true, mode: 0o755 });
  const tmp = `${plist}.${process.pid}.tmp`;
  writeFileSync(tmp, xml, { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, plist);
  // A loaded agent keeps its old plist until it is booted out.
  if ((await lc.status()).loaded) await lc.bootout();
  for (let attempt = 1; ; attempt++) {
    try {
      await lc.bootstrap(plist);
      break;
    } catch (err) {
      if (!(err instanceof RelayError) || err.code !== 'LAUNCHD_BOOTSTRAP_FAILED' || attempt >= BOOTSTRAP_TRIES) throw err;
      await deps.sleep(BOOTSTRAP_PAUSE_MS);
    }
  }
  io.stdout(`installed ${plist}\nlaunchd output: ${launchdLogs(spec).stderr}\n${describe(await lc.status(), plist, true)}`);
  return 0;
}

/** Boots the agent out and removes its plist. @throws RelayError LAUNCHD_UNSUPPORTED, LAUNCHD_FAILED (the plist is then kept) */
export async function uninstallCommand(argv: readonly string[], io: CliIo, deps: LaunchdCliDeps = defaultLaunchdDeps()): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { 'dry-run': { type: 'boolean' } }, strict: true });
  const lc = launchctl(deps);
  const plist = plistPath(deps);
  if (values['dry-run'] === true) {
    io.stdout(`${line(lc.argv.bootout())}\nrm ${shown(plist)}\n`);
    return 0;
  }
  needsMac(deps, 'uninstall');
  // A bootout that fails for another reason than "not loaded" leaves the plist: the agent may still run.
  const wasLoaded = await lc.bootout();
  const had = existsSync(plist);
  rmSync(plist, { force: true });
  io.stdout(`${wasLoaded ? `stopped ${lc.service}` : `${lc.service} was not loaded`}\n${had ? `removed ${plist}` : `no plist at ${plist}`}\n`);
  return 0;
}

/** kickstart -k. @throws RelayError LAUNCHD_UNSUPPORTED, LAUNCHD_NOT_LOADED, LAUNCHD_FAILED */
export async function restartCommand(argv: readonly string[], io: CliIo, deps: LaunchdCliDeps = defaultLaunchdDeps()): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { 'dry-run': { type: 'boolean' } }, strict: true });
  const lc = launchctl(deps);
  if (values['dry-run'] === true) {
    io.stdout(`${line(lc.argv.kickstart())}\n`);
    return 0;
  }
  needsMac(deps, 'restart');
  await lc.kickstart();
  io.stdout(`restarted ${lc.service}\n${describe(await lc.status(), plistPath(deps), true)}`);
  return 0;
}

/** What launchd says about the agent, as text or JSON. @throws RelayError LAUNCHD_UNSUPPORTED, LAUNCHD_FAILED */
export async function statusCommand(argv: readonly string[], io: CliIo, deps: LaunchdCliDeps = defaultLaunchdDeps()): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean' }, 'dry-run': { type: 'boolean' } }, strict: true });
  const lc = launchctl(deps);
  if (values['dry-run'] === true) {
    io.stdout(`${line(lc.argv.print())}\n`);
    return 0;
  }
  needsMac(deps, 'status');
  const s = await lc.status();
  const plist = plistPath(deps);
  const installed = existsSync(plist);
  io.stdout(values.json === true ? `${JSON.stringify({ label: AGENT_LABEL, installed, plist, ...s })}\n` : describe(s, plist, installed));
  return 0;
}
