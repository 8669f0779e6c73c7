// The one place `wg` runs: `wg show <interface> dump`, `wg set … endpoint` and `wg genkey`/`wg pubkey` through execFile (argv only), its failures as
// coded errors that say what to do. `command` may start with a privilege helper (`sudo -n wg`):
// wireguard-go's control socket is root's.
import { RelayError } from '../errors.js';
import { runCommand, type RunCommand } from '../run-command.js';
import { parseWgDump, type WgDump } from './wg-dump.js';

export type WgShow = (iface: string) => Promise<WgDump>;

const IFACE = /^[A-Za-z0-9_.=+-]{1,15}$/;

/** A `wg show <iface> dump` runner for `command` (e.g. ["wg"] or ["sudo", "-n", "/opt/homebrew/bin/wg"]). */
export function wgShow(command: readonly string[], timeoutMs = 5000): WgShow {
  const [file, ...prefix] = command;
  if (file === undefined) throw new RelayError('TUNNEL_WG_MISSING', 'no wg command configured');
  return async (iface) => {
    if (!IFACE.test(iface)) throw new RelayError('TUNNEL_BAD_INTERFACE', `"${iface}" is not a WireGuard interface name`, { interface: iface });
    const r = await runCommand(file, [...prefix, 'show', iface, 'dump'], { timeoutMs });
    if (r.exitCode === 0) return parseWgDump(r.stdout);
    const err = r.stderr.trim();
    const details = { interface: iface, command: command.join(' ') };
    if (r.timedOut) throw new RelayError('TUNNEL_WG_TIMEOUT', `\`${command.join(' ')} show ${iface} dump\` did not answer within ${timeoutMs} ms`, details);
    if (/ENOENT/.test(err)) throw new RelayError('TUNNEL_WG_MISSING', `${file} was not found: install wireguard-tools or set tunnel.command`, details);
    if (/No such device|does not exist|Unable to access interface: (No such file|Protocol not supported)/i.test(err)) {
      throw new RelayError('TUNNEL_NO_INTERFACE', `WireGuard interface ${iface} does not exist (is the tunnel up?)`, details);
    }
    if (/Operation not permitted|Permission denied|password is required|EACCES/i.test(err)) {
      throw new RelayError('TUNNEL_PERMISSION', `not allowed to read ${iface}: wg needs root (set tunnel.command to ["sudo", "-n", "wg"] with a sudoers rule for \`wg show\`)`, details);
    }
    throw new RelayError('TUNNEL_WG_FAILED', `wg show ${iface} dump failed (exit ${r.exitCode ?? r.signal ?? '?'}): ${err.slice(0, 300)}`, details);
  };
}

const WG_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** A WireGuard key pair made by `wg genkey` and `wg pubkey` (base64, as wg-quick files hold them). */
export interface WgKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

async function wgKeyStep(command: readonly string[], step: 'genkey' | 'pubkey', input: string | undefined, timeoutMs: number): Promise<string> {
  const [file, ...prefix] = command;
  if (file === undefined) throw new RelayError('TUNNEL_WG_MISSING', 'no wg command configured');
  const r = await runCommand(file, [...prefix, step], { timeoutMs, ...(input === undefined ? {} : { input }) });
  const details = { command: command.join(' '), step };
  if (r.timedOut) throw new RelayError('TUNNEL_WG_TIMEOUT', `\`${command.join(' ')} ${step}\` did not answer within ${timeoutMs} ms`, details);
  if (r.exitCode === null && /ENOENT/.test(r.stderr)) throw new RelayError('TUNNEL_WG_MISSING', `${file} was not found: install wireguard-tools (or pass --wg <path>)`, details);
  const key = r.stdout.trim();
  if (r.exitCode !== 0 || !WG_KEY.test(key)) {
    throw new RelayError('TUNNEL_WG_FAILED', `wg ${step} failed (exit ${r.exitCode ?? r.signal ?? '?'}): ${r.stderr.trim().slice(0, 300) || 'no key printed'}`, details);
  }
  return key;
}

/**
 * A new WireGuard key pair from `wg genkey` and `wg pubkey` (the private key goes to wg on stdin,
 * never on a command line).
 * @throws RelayError TUNNEL_WG_MISSING, TUNNEL_WG_TIMEOUT, TUNNEL_WG_FAILED
 */
export async function wgGenerateKeyPair(command: readonly string[] = ['wg'], timeoutMs = 5000): Promise<WgKeyPair> {
  const privateKey = await wgKeyStep(command, 'genkey', undefined, timeoutMs);
  return { privateKey, publicKey: await wgPublicKey(privateKey, command, timeoutMs) };
}

/** `wg pubkey` of a private key. @throws RelayError as {@link wgGenerateKeyPair} */
export function wgPublicKey(privateKey: string, command: readonly string[] = ['wg'], timeoutMs = 5000): Promise<string> {
  return wgKeyStep(command, 'pubkey', `${privateKey}\n`, timeoutMs);
}

/** Points the tunnel's peer at a new `addr:port` (what the healer does once a re-resolve finds the hub moved). */
export type WgSetEndpoint = (iface: string, peer: string, endpoint: string) => Promise<void>;

/**
 * A `wg set <iface> peer <key> endpoint <addr:port>` runner for `command` (the same argv prefix as
 * {@link wgShow}: with sudo, the sudoers rule must allow `wg set` too).
 * @throws RelayError TUNNEL_BAD_INTERFACE, TUNNEL_WG_MISSING, TUNNEL_WG_TIMEOUT, TUNNEL_NO_INTERFACE, TUNNEL_PERMISSION, TUNNEL_WG_FAILED
 */
export function wgSetEndpoint(command: readonly string[], run: RunCommand = runCommand, timeoutMs = 5000): WgSetEndpoint {
  const [file, ...prefix] = command;
  if (file === undefined) throw new RelayError('TUNNEL_WG_MISSING', 'no wg command configured');
  return async (iface, peer, endpoint) => {
    if (!IFACE.test(iface)) throw new RelayError('TUNNEL_BAD_INTERFACE', `"${iface}" is not a WireGuard interface name`, { interface: iface });
    if (!WG_KEY.test(peer)) throw new RelayError('TUNNEL_WG_FAILED', 'the peer is not a WireGuard public key', { interface: iface });
    const shown = `${command.join(' ')} set ${iface} peer ${peer.slice(0, 8)}… endpoint ${endpoint}`;
    const r = await run(file, [...prefix, 'set', iface, 'peer', peer, 'endpoint', endpoint], { timeoutMs });
    if (r.exitCode === 0) return;
    const err = r.stderr.trim();
    const details = { interface: iface, command: command.join(' ') };
    if (r.timedOut) throw new RelayError('TUNNEL_WG_TIMEOUT', `\`${shown}\` did not answer within ${timeoutMs} ms`, details);
    if (/ENOENT/.test(err)) throw new RelayError('TUNNEL_WG_MISSING', `${file} was not found: install wireguard-tools or set tunnel.command`, details);
    if (/No such device|does not exist|Unable to (access|modify) interface: (No such file|Protocol not supported)/i.test(err)) {
      throw new RelayError('TUNNEL_NO_INTERFACE', `WireGuard interface ${iface} does not exist (is the tunnel up?)`, details);
    }
    if (/Operation not permitted|Permission denied|password is required|EACCES/i.test(err)) {
      throw new RelayError('TUNNEL_PERMISSION', `not allowed to change ${iface}: \`wg set\` needs root (a sudoers rule for it beside \`wg show\`)`, details);
    }
    throw new RelayError('TUNNEL_WG_FAILED', `\`${shown}\` failed (exit ${r.exitCode ?? r.signal ?? '?'}): ${err.slice(0, 300)}`, details);
  };
}
