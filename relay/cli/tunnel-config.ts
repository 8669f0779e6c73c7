// `imessage-relay tunnel config --hub|--mac`: matching wg-quick files for both ends. Each end makes
// its own WireGuard key (`wg genkey`/`wg pubkey`); only public keys and addresses cross, as pairing
// lines: hub → Mac (`--pair`), Mac → hub (`--add-peer`). Files are 0600 and never overwritten.
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodePairing, encodePairing, PairingCode } from '../config/pairing.js';
import { formatHostPort, InitCode, parseHostPort } from '../config/starter.js';
import { ConfigCode } from '../config/validate.js';
import { RelayError } from '../errors.js';
import { wgGenerateKeyPair } from '../tunnel/wg.js';
import { formatCidr, nextHost, overlaps, parseCidr, parseWgQuick, renderInterface, renderPeer, type Cidr } from '../tunnel/wg-quick.js';
import { UsageError, type CliIo } from './io.js';
import { refuseExisting, replaceFile, shellQuote, writeNewFile } from './new-files.js';

export const TUNNEL_USAGE = `imessage-relay tunnel config --hub|--mac … [--out <file>] [--wg <path>] [--json]
  Writes this end's wg-quick file (mode 0600, never overwritten; default ./imr0.conf: the interface
  is named after the file). Keys come from "wg genkey"; only public keys cross, as pairing lines.
    tunnel config --hub --endpoint <public host[:port]> [--address <cidr>] [--listen-port <n>]
      on the hub (first): its end, listening on --listen-port (51820) at --address (10.8.0.1/24);
      prints the line to run on the Mac.
    tunnel config --mac --pair <line> [--address <cidr>]
      on the Mac: its end (default address 10.8.0.2/32), dialling the hub with a keepalive;
      prints the line to run on the hub.
    tunnel config --hub --add-peer <line>
      on the hub: adds the Mac as a [Peer] of its file.`;

const OPTIONS = {
  hub: { type: 'boolean' }, mac: { type: 'boolean' }, json: { type: 'boolean' }, out: { type: 'string' }, wg: { type: 'string' },
  endpoint: { type: 'string' }, address: { type: 'string' }, 'listen-port': { type: 'string' }, pair: { type: 'string' }, 'add-peer': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>>['values'];

export async function tunnelCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'config') throw new UsageError(sub === undefined ? 'which tunnel command? (config)' : `unknown tunnel command "${sub}"`);
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true });
  if (values.hub === values.mac) throw new UsageError('say which end this is: --hub or --mac');
  const out = resolve(values.out ?? 'imr0.conf');
  if (!/^[A-Za-z0-9_=+.-]{1,15}\.conf$/.test(basename(out))) {
    throw new UsageError(`--out "${basename(out)}": wg-quick names the interface after the file, so it must be <name>.conf with a name of at most 15 letters, digits or _=+.-`);
  }
  if (values.mac === true) {
    if (values.pair === undefined) throw new UsageError('tunnel config --mac needs --pair <line>: run "imessage-relay tunnel config --hub --endpoint <host>" on the hub first');
    for (const k of ['endpoint', 'listen-port', 'add-peer'] as const) if (values[k] !== undefined) throw new UsageError(`--${k} is not an option of tunnel config --mac`);
    return macEnd(values, values.pair, out, io);
  }
  if (values.pair !== undefined) throw new UsageError('--pair is an option of tunnel config --mac');
  if (values['add-peer'] !== undefined) {
    for (const k of ['endpoint', 'address', 'listen-port'] as const) if (values[k] !== undefined) throw new UsageError(`--${k} cannot go with --add-peer`);
    return addPeer(values, values['add-peer'], out, io);
  }
  if (values.endpoint === undefined) throw new UsageError('tunnel config --hub needs --endpoint <the hub\'s public address, as the Mac reaches it>');
  return hubEnd(values, values.endpoint, out, io);
}

function cidrOption(text: string | undefined, fallback: string): Cidr {
  const c = parseCidr(text ?? fallback);
  if (c === null) throw new UsageError(`--address "${text}" is not an IPv4 address with its prefix (like ${fallback})`);
  return c;
}

const wgCommand = (values: Values): string[] => [values.wg ?? 'wg'];

function report(io: CliIo, values: Values, json: Record<string, unknown>, lines: readonly string[]): number {
  io.stdout(values.json === true ? `${JSON.stringify(json)}\n` : `${lines.join('\n')}\n`);
  return 0;
}

async function hubEnd(values: Values, endpointText: string, out: string, io: CliIo): Promise<number> {
  const listenPort = values['listen-port'] === undefined ? 51820 : Number(values['listen-port']);
  if (!Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65535) throw new UsageError(`--listen-port "${values['listen-port']}" is not a port`);
  const endpoint = parseHostPort(endpointText, listenPort);
  if (endpoint === null) throw new UsageError(`--endpoint "${endpointText}" is not host[:port]`);
  const address = cidrOption(values.address, '10.8.0.1/24');
  const macAddress = nextHost(address);
  if (macAddress === null) throw new UsageError(`--address ${formatCidr(address)} leaves no address for a Mac after it`);
  refuseExisting([out], 'tunnel config --hub', 'a new file means a new key: every Mac must pair again (tunnel config --mac)');
  const keys = await wgGenerateKeyPair(wgCommand(values));
  const name = basename(out, '.conf');
  writeNewFile(out, renderInterface([
    'The hub\'s end of the imessage-relay WireGuard tunnel (imessage-relay tunnel config --hub).',
    `Install: sudo install -m 600 ${basename(out)} /etc/wireguard/ && sudo wg-quick up ${name}`,
    'Each Mac is added below as a [Peer] by: imessage-relay tunnel config --hub --add-peer <line>',
  ], { privateKey: keys.privateKey, addresses: [formatCidr(address)], listenPort }));
  const line = encodePairing('wg-hub', { key: keys.publicKey, endpoint: formatHostPort(endpoint), address: address.ip, peerAddress: `${macAddress}/32` });
  const next = `imessage-relay tunnel config --mac --pair ${line}`;
  return report(io, values, { side: 'hub', file: out, interface: name, publicKey: keys.publicKey, address: formatCidr(address), listenPort, endpoint: formatHostPort(endpoint), pairing: line, next }, [
    `wrote ${out} (mode 0600): this hub at ${formatCidr(address)}, listening on UDP ${listenPort}, public key ${keys.publicKey}`,
    '',
    'On the Mac, run:',
    '',
    `  ${next}`,
    '',
    `It prints a line starting "imessage-relay tunnel config --hub --add-peer": run it here${values.out === undefined ? '' : ` with --out ${shellQuote(out)}`}.`,
    `Then: sudo install -m 600 ${shellQuote(out)} /etc/wireguard/ && sudo wg-quick up ${name}; let UDP ${listenPort} in;`,
    `the hub's link listens on ${address.ip} (init --hub --link ${address.ip}:7443), and "tunnel": {"interface": "${name}"} in hub.json watches the tunnel.`,
  ]);
}

async function macEnd(values: Values, pairLine: string, out: string, io: CliIo): Promise<number> {
  const hub = decodePairing(pairLine, 'wg-hub');
  const endpoint = parseHostPort(hub.endpoint);
  const hubIp = parseCidr(hub.address);
  const offered = parseCidr(hub.peerAddress);
  if (endpoint === null || hubIp === null || hubIp.prefix !== 32 || offered === null) {
    throw new RelayError(PairingCode.Invalid, 'the pairing line\'s endpoint or addresses are not valid', { expected: 'wg-hub' });
  }
  const address = values.address === undefined ? offered : cidrOption(values.address, '10.8.0.2/32');
  if (address.prefix !== 32) throw new UsageError(`--address ${formatCidr(address)}: a Mac has one address (/32); the hub routes exactly that to it`);
  refuseExisting([out], 'tunnel config --mac', 'a new file means a new key: the hub must add this Mac again (tunnel config --hub --add-peer)');
  const keys = await wgGenerateKeyPair(wgCommand(values));
  const name = basename(out, '.conf');
  writeNewFile(out, renderInterface([
    'This Mac\'s end of the imessage-relay WireGuard tunnel (imessage-relay tunnel config --mac).',
    `Install: sudo install -d -m 700 /etc/wireguard && sudo install -m 600 ${name}.conf /etc/wireguard/ && sudo wg-quick up ${name}  (wireguard-tools from Homebrew)`,
  ], { privateKey: keys.privateKey, addresses: [formatCidr(address)], listenPort: null })
    + renderPeer(['the hub'], { publicKey: hub.key, endpoint: formatHostPort(endpoint), allowedIps: [`${hubIp.ip}/32`], persistentKeepalive: 25 }));
  const line = encodePairing('wg-mac', { key: keys.publicKey, address: formatCidr(address) });
  const next = `imessage-relay tunnel config --hub --add-peer ${line}`;
  const relayTunnel = macTunnelSection(name, hub.key, formatHostPort(endpoint));
  const sudoers = macSudoersRule(name, hub.key);
  return report(io, values, { side: 'mac', file: out, interface: name, publicKey: keys.publicKey, address: formatCidr(address), hubPublicKey: hub.key, endpoint: formatHostPort(endpoint), pairing: line, next, relayTunnel, sudoers }, [
    `wrote ${out} (mode 0600): this Mac at ${formatCidr(address)}, dialling the hub ${hubIp.ip} at ${formatHostPort(endpoint)}, public key ${keys.publicKey}`,
    '',
    'On the hub, run:',
    '',
    `  ${next}`,
    '',
    'Then here (wg-quick finds the file by its interface name there):',
    '',
    `  sudo install -d -m 700 /etc/wireguard && sudo install -m 600 ${shellQuote(out)} /etc/wireguard/ && sudo wg-quick up ${name}`,
    '',
    `The relay dials ws://${hubIp.ip}:7443. This "tunnel" section in relay.json lets it watch the tunnel and heal it`,
    '(look the hub\'s name up again, move the peer, restart the interface):',
    '',
    `  "tunnel": ${JSON.stringify(relayTunnel)}`,
    '',
    'and this sudoers rule lets it run exactly those commands without a password (sudo visudo -f /etc/sudoers.d/imessage-relay,',
    'with your user name):',
    '',
    `  ${sudoers}`,
  ]);
}

/** Homebrew's wireguard-tools on Apple silicon (/usr/local on Intel Macs: edit both places alike). */
const MAC_WG = '/opt/homebrew/bin/wg';
const MAC_WG_QUICK = '/opt/homebrew/bin/wg-quick';

/** The relay's `tunnel` config section for this Mac: watch through sudo, re-resolve the hub's name, restart the interface. */
function macTunnelSection(iface: string, hubKey: string, endpoint: string): Record<string, unknown> {
  return {
    interface: iface, peer: hubKey, command: ['sudo', '-n', MAC_WG], endpoint,
    restartCommand: [['sudo', '-n', MAC_WG_QUICK, 'down', iface], ['sudo', '-n', MAC_WG_QUICK, 'up', iface]],
  };
}

/** One sudoers line allowing what that section runs, and nothing wider (sudoers escapes `=` and `:` in arguments). */
function macSudoersRule(iface: string, hubKey: string): string {
  const esc = (t: string): string => t.replace(/[=:,\\]/g, (c) => `\\${c}`);
  return `<user> ALL=(root) NOPASSWD: ${MAC_WG} show ${iface} dump, ${MAC_WG} set ${iface} peer ${esc(hubKey)} endpoint *, `
    + `${MAC_WG_QUICK} down ${iface}, ${MAC_WG_QUICK} up ${iface}`;
}

async function addPeer(values: Values, pairLine: string, out: string, io: CliIo): Promise<number> {
  const mac = decodePairing(pairLine, 'wg-mac');
  const address = parseCidr(mac.address);
  if (address === null || address.prefix !== 32) throw new RelayError(PairingCode.Invalid, 'the pairing line\'s address is not one IPv4 address (/32)', { expected: 'wg-mac' });
  let text: string;
  try {
    text = readFileSync(out, 'utf8');
  } catch (err) {
    throw new RelayError(ConfigCode.Unreadable, `cannot read ${out}: ${(err as Error).message} (run "imessage-relay tunnel config --hub --endpoint <host>" first, or pass --out)`, { file: out });
  }
  let conf;
  try {
    conf = parseWgQuick(text);
  } catch (err) {
    throw err instanceof RelayError ? new RelayError(err.code, `${out}: ${err.message}`, { ...err.details, file: out }) : err;
  }
  const ours = formatCidr(address);
  for (const p of conf.peers) {
    const ips = p.allowedIps.map(parseCidr);
    if (p.publicKey === mac.key && p.allowedIps.length === 1 && p.allowedIps[0] === ours) {
      return report(io, values, { side: 'hub', file: out, publicKey: mac.key, address: ours, added: false }, [`this Mac (${ours}) is already a peer in ${out}: nothing changed.`]);
    }
    if (p.publicKey === mac.key) throw new RelayError(InitCode.PeerExists, `${out}: this Mac's key is already a peer, with AllowedIPs ${p.allowedIps.join(', ')}`, { file: out });
    if (ips.some((c) => c !== null && overlaps(c, address))) {
      throw new RelayError(InitCode.PeerExists, `${out}: ${ours} is already routed to another peer; on the Mac, remove its file and run tunnel config --mac again with --address <a free address>/32`, { file: out, address: ours });
    }
  }
  replaceFile(out, `${text.replace(/\n*$/, '\n')}${renderPeer([`a Mac (imessage-relay tunnel config --hub --add-peer), at ${ours}`], { publicKey: mac.key, endpoint: null, allowedIps: [ours], persistentKeepalive: null })}`);
  const name = basename(out, '.conf');
  return report(io, values, { side: 'hub', file: out, publicKey: mac.key, address: ours, added: true }, [
    `added the Mac at ${ours} (public key ${mac.key}) as a peer in ${out}.`,
    `If the tunnel is up, apply it with: sudo wg-quick down ${name} && sudo wg-quick up ${name} (after installing the file again).`,
  ]);
}
