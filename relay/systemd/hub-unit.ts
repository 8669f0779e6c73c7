// The systemd unit for `imessage-relay hub`, built from what the hub's config says: a non-root user,
// its data folder as StateDirectory (or a writable path), a read-only system around it, restart on
// failure, and an ordering after wg-quick@<interface> when the link binds the tunnel's address.
import { dirname, isAbsolute, relative } from 'node:path';
import { RelayError } from '../errors.js';

/** The unit's file name (in /etc/systemd/system/). */
export const HUB_UNIT_NAME = 'imessage-relay-hub.service';

/** The user the unit runs the hub as unless told otherwise (made by deploy/install-hub.sh). */
export const DEFAULT_HUB_USER = 'imessage-relay';

/** Seconds systemd waits before starting the hub again after it failed. */
export const RESTART_SECONDS = 5;

/** What the unit is rendered from: paths as the service will see them, and the parts of the config that matter. */
export interface HubUnitSpec {
  /** The node binary. */
  readonly node: string;
  /** bin/imessage-relay.js of the installed package. */
  readonly entry: string;
  readonly config: string;
  /** The hub's data folder (the store, its key, logs). */
  readonly dataDir: string;
  /** The hub's log file (null: stdout only, which goes to the journal). */
  readonly logFile: string | null;
  readonly user: string;
  /** The address the link listens on (`listen.host`). */
  readonly linkHost: string;
  /** `tunnel.interface` (the WireGuard interface the hub watches), or null. */
  readonly tunnelInterface: string | null;
  /** The wg-quick interface the link's address lives on when the hub does not watch it (`--tunnel`); default tunnelInterface. */
  readonly wgQuickInterface?: string | null;
  /** `tunnel.command` and `tunnel.restartCommand`: what the hub runs on the tunnel's behalf. */
  readonly tunnelCommands: ReadonlyArray<readonly string[]>;
}

const HOME_PREFIXES = ['/home/', '/root/', '/run/user/'];
const under = (p: string, root: string): boolean => p === root.replace(/\/$/, '') || p.startsWith(root);

/** True for an address that only exists once some interface has it (not loopback, not every address). */
export function isSpecificAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return !(h === '' || h === '0.0.0.0' || h === '::' || h === 'localhost' || h === '::1' || /^127\./.test(h));
}

/**
 * One word of a command line or a path list in a unit file: `%` and `$` doubled (no specifier, no
 * variable expansion), and double-quoted with C escapes when it holds a space, a quote or a backslash.
 */
export function unitWord(word: string): string {
  const plain = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (!/[\s"'\\;]/.test(plain) && plain !== '') return plain;
  return `"${plain.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

function check(spec: HubUnitSpec): void {
  const paths = [['node', spec.node], ['entry', spec.entry], ['config', spec.config], ['dataDir', spec.dataDir], ['log.file', spec.logFile ?? '/']] as const;
  for (const [what, p] of paths) {
    if (!isAbsolute(p)) throw new RelayError('SYSTEMD_BAD_PATH', `the systemd unit needs absolute paths; ${what} is ${JSON.stringify(p)}`, { what });
    if (/[\n\r]/.test(p)) throw new RelayError('SYSTEMD_BAD_PATH', `${what} holds a line break, which a unit file cannot carry`, { what });
  }
  if (spec.dataDir === '/' || spec.dataDir === '/var/lib') throw new RelayError('SYSTEMD_BAD_PATH', `dataDir ${spec.dataDir} would make the whole folder writable; give the hub a folder of its own (e.g. /var/lib/imessage-relay)`, { what: 'dataDir' });
  const wg = spec.wgQuickInterface ?? null;
  if (wg !== null && !/^[A-Za-z0-9_.=+-]{1,15}$/.test(wg)) throw new RelayError('SYSTEMD_BAD_TUNNEL', `--tunnel ${JSON.stringify(wg)} is not an interface name (letters, digits, _.=+-, at most 15)`, { tunnel: wg });
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(spec.user) || spec.user === 'root') {
    throw new RelayError('SYSTEMD_BAD_USER', `the hub runs as a system user of its own, not ${JSON.stringify(spec.user)} (e.g. ${DEFAULT_HUB_USER}, made by deploy/install-hub.sh)`, { user: spec.user });
  }
  for (const argv of spec.tunnelCommands) {
    if (argv.length > 0 && /(^|\/)(sudo|doas|pkexec)$/.test(argv[0]!)) {
      throw new RelayError('SYSTEMD_TUNNEL_SUDO', `the tunnel commands run "${argv[0]}", which NoNewPrivileges forbids under the unit; the unit gives the hub CAP_NET_ADMIN instead: set tunnel.command to ["wg"] and leave out a restartCommand that needs root`, { command: argv[0]! });
    }
  }
}

/**
 * Where the hub may write: its data folder as StateDirectory when it is under /var/lib (systemd makes
 * it, owned by the user, mode 0700), else as a writable path that must exist; a log folder elsewhere too.
 */
function writable(spec: HubUnitSpec): { stateDirectory: string | null; paths: string[] } {
  const stateDirectory = under(spec.dataDir, '/var/lib/') ? relative('/var/lib', spec.dataDir) : null;
  const paths = stateDirectory === null ? [spec.dataDir] : [];
  if (spec.logFile !== null) {
    const logDir = dirname(spec.logFile);
    if (!under(logDir, `${spec.dataDir}/`)) paths.push(logDir);
  }
  return { stateDirectory, paths };
}

/**
 * The unit file's text.
 * @throws RelayError SYSTEMD_BAD_PATH (a path not absolute), SYSTEMD_BAD_USER (root, or not a user
 *   name), SYSTEMD_TUNNEL_SUDO (a tunnel command that needs sudo, which NoNewPrivileges blocks)
 */
export function renderHubUnit(spec: HubUnitSpec): string {
  check(spec);
  const wgQuick = spec.wgQuickInterface ?? spec.tunnelInterface;
  const tunnelUnit = wgQuick !== null && isSpecificAddress(spec.linkHost) ? `wg-quick@${wgQuick}.service` : null;
  const after = ['network-online.target', ...(tunnelUnit === null ? [] : [tunnelUnit])].join(' ');
  const { stateDirectory, paths } = writable(spec);
  const inHome = [spec.node, spec.entry, spec.config, spec.dataDir, spec.logFile ?? '/'].some((p) => HOME_PREFIXES.some((h) => under(p, h)));
  // Watching the tunnel runs `wg show`, which needs CAP_NET_ADMIN: the one capability ever given.
  const caps = spec.tunnelInterface === null ? '' : 'CAP_NET_ADMIN';
  const lines = [
    '# Rendered by `imessage-relay hub-unit` from the hub config; render again after changing it.',
    '[Unit]',
    'Description=imessage-relay hub (sealed link from the Mac, event store, assistant API)',
    `After=${after}`,
    `Wants=${after}`,
    ...(tunnelUnit === null ? [] : [`# The link listens on ${spec.linkHost}, the tunnel's address: it exists only once ${tunnelUnit} is up.`]),
    '',
    '[Service]',
    'Type=exec',
    `User=${spec.user}`,
    `Group=${spec.user}`,
    `ExecStart=${[spec.node, spec.entry, 'hub', '--config', spec.config].map(unitWord).join(' ')}`,
    `WorkingDirectory=${spec.dataDir.replace(/%/g, '%%')}`,
    ...(stateDirectory === null ? [] : [`StateDirectory=${unitWord(stateDirectory)}`, 'StateDirectoryMode=0700']),
    ...(paths.length === 0 ? [] : [`ReadWritePaths=${paths.map(unitWord).join(' ')}`]),
    'Restart=on-failure',
    `RestartSec=${RESTART_SECONDS}`,
    // The hub stops within 8 s of SIGTERM (then exits 1 on its own); systemd kills after 20.
    'TimeoutStopSec=20',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${inHome ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    `CapabilityBoundingSet=${caps}`,
    ...(caps === '' ? [] : [`AmbientCapabilities=${caps}`]),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}
