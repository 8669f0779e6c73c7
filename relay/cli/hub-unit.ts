// `imessage-relay hub-unit`: the hub's systemd unit, rendered from its config (checked first) and
// printed, or written with --out (mode 0644, through a rename). systemctl is left to the admin.
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHubConfig } from '../config/hub-config.js';
import { loadConfigFile } from '../config/load.js';
import { DEFAULT_HUB_USER, HUB_UNIT_NAME, isSpecificAddress, renderHubUnit } from '../systemd/hub-unit.js';
import type { CliIo } from './io.js';

export const HUB_UNIT_USAGE = `imessage-relay hub-unit [--config <file>] [--user <name>] [--node <path>] [--tunnel <interface>] [--out <file>]
  Prints the hub's systemd unit (${HUB_UNIT_NAME}), rendered from its config: it runs
  "<node> bin/imessage-relay.js hub --config <file>" as --user (default ${DEFAULT_HUB_USER}), the data
  folder as StateDirectory, ProtectSystem=strict, NoNewPrivileges, restarted on failure, and after
  wg-quick@<interface> when the link listens on the tunnel's address (the interface: tunnel.interface,
  or --tunnel when the hub does not watch it). --out writes it (0644).`;

/** What the command takes from the process (passed in so a test can change it). */
export interface HubUnitDeps {
  readonly env: NodeJS.ProcessEnv;
  /** The node binary the unit runs (default: this process's). */
  readonly node: string;
  /** bin/imessage-relay.js of this package. */
  readonly entry: string;
}

export function defaultHubUnitDeps(): HubUnitDeps {
  return { env: process.env, node: process.execPath, entry: fileURLToPath(new URL('../../bin/imessage-relay.js', import.meta.url)) };
}

/** Renders the unit and prints or writes it. @throws RelayError CONFIG_*, SYSTEMD_* */
export async function hubUnitCommand(argv: readonly string[], io: CliIo, deps: HubUnitDeps = defaultHubUnitDeps()): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' }, user: { type: 'string' }, node: { type: 'string' }, tunnel: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const { node: cfg, file } = loadConfigFile(values.config, deps.env);
  const config = parseHubConfig(cfg, file, deps.env);
  const tunnelCommands = [...(config.tunnel.interface === null ? [] : [config.tunnel.command]), ...(config.tunnel.restartCommand ?? [])];
  const unit = renderHubUnit({
    node: values.node ?? deps.node, entry: deps.entry, config: file, dataDir: config.dataDir, logFile: config.log.file,
    user: values.user ?? DEFAULT_HUB_USER, linkHost: config.listen.host, tunnelInterface: config.tunnel.interface, tunnelCommands,
    wgQuickInterface: values.tunnel ?? null,
  });
  if (isSpecificAddress(config.listen.host) && values.tunnel === undefined && config.tunnel.interface === null) {
    io.stderr(`note: the link listens on ${config.listen.host}, and no tunnel interface is named: the unit does not wait for the tunnel. `
      + 'If that address is the tunnel\'s, set tunnel.interface in the config or pass --tunnel <interface> (e.g. imr0).\n');
  }
  if (values.out === undefined) {
    io.stdout(unit);
    return 0;
  }
  const out = resolve(values.out);
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, unit, { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, out);
  io.stdout(`wrote ${out}\nthen: systemctl daemon-reload && systemctl enable --now ${HUB_UNIT_NAME}\n`);
  return 0;
}
