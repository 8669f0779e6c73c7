// wg-quick configuration files: written by `imessage-relay tunnel config` for both ends, and read
// back (ours or edited by hand) to add a peer without clashing with one already there. Pure text.
import { isIP } from 'node:net';
import { RelayError } from '../errors.js';

export interface WgQuickInterface {
  readonly privateKey: string;
  readonly addresses: readonly string[];
  readonly listenPort: number | null;
}

export interface WgQuickPeer {
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  readonly endpoint: string | null;
  readonly persistentKeepalive: number | null;
}

export interface WgQuickFile {
  readonly iface: WgQuickInterface;
  readonly peers: readonly WgQuickPeer[];
}

/** An IPv4 address with its prefix length, as wg-quick's Address and AllowedIPs hold it. */
export interface Cidr {
  readonly ip: string;
  readonly prefix: number;
}

/** Parses `10.8.0.2/32` (IPv4; a bare address is /32); null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (m === null || isIP(m[1]!) !== 4) return null;
  const prefix = m[2] === undefined ? 32 : Number(m[2]);
  return prefix <= 32 ? { ip: m[1]!, prefix } : null;
}

export function formatCidr(c: Cidr): string {
  return `${c.ip}/${c.prefix}`;
}

const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The address after `c.ip` when it is still a host of `c`'s network (not its broadcast), else null. */
export function nextHost(c: Cidr): string | null {
  const n = toInt(c.ip) + 1;
  const size = 2 ** (32 - c.prefix);
  const base = Math.floor(toInt(c.ip) / size) * size;
  return c.prefix >= 31 || n >= base + size - 1 ? null : toIp(n);
}

/** True when the two address ranges share an address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - prefix);
  return Math.floor(toInt(a.ip) / size) === Math.floor(toInt(b.ip) / size);
}

/** `# …` lines, then an [Interface] section. */
export function renderInterface(comments: readonly string[], i: WgQuickInterface): string {
  return [
    ...comments.map((c) => `# ${c}`),
    '[Interface]',
    `PrivateKey = ${i.privateKey}`,
    `Address = ${i.addresses.join(', ')}`,
    ...(i.listenPort === null ? [] : [`ListenPort = ${i.listenPort}`]),
    '',
  ].join('\n');
}

/** A blank line, then `# …` lines and a [Peer] section. */
export function renderPeer(comments: readonly string[], p: WgQuickPeer): string {
  return [
    '',
    '[Peer]',
    ...comments.map((c) => `# ${c}`),
    `PublicKey = ${p.publicKey}`,
    ...(p.endpoint === null ? [] : [`Endpoint = ${p.endpoint}`]),
    `AllowedIPs = ${p.allowedIps.join(', ')}`,
    ...(p.persistentKeepalive === null ? [] : [`PersistentKeepalive = ${p.persistentKeepalive}`]),
    '',
  ].join('\n');
}

function fail(line: number, why: string): never {
  throw new RelayError('TUNNEL_BAD_CONF', `line ${line}: ${why}`, { line });
}

/**
 * Reads a wg-quick file: its [Interface] and [Peer]s (keys as wg-quick reads them, any case; keys
 * this reader does not need, such as DNS or PostUp, are passed over).
 * @throws RelayError TUNNEL_BAD_CONF naming the line
 */
export function parseWgQuick(text: string): WgQuickFile {
  let iface: { privateKey?: string; addresses: string[]; listenPort: number | null } | null = null;
  const peers: Array<{ publicKey?: string; allowedIps: string[]; endpoint: string | null; persistentKeepalive: number | null; line: number }> = [];
  let section: 'interface' | 'peer' | null = null;
  const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const [i, raw] of text.split('\n').entries()) {
    const n = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head !== null) {
      section = head[1]!.toLowerCase() === 'interface' ? 'interface' : head[1]!.toLowerCase() === 'peer' ? 'peer' : fail(n, `unknown section [${head[1]}]`);
      if (section === 'interface') {
        if (iface !== null) fail(n, 'a second [Interface]');
        iface = { addresses: [], listenPort: null };
      } else peers.push({ allowedIps: [], endpoint: null, persistentKeepalive: null, line: n });
      continue;
    }
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (kv === null) fail(n, 'neither a [section] nor key = value');
    const key = kv[1]!.toLowerCase();
    const value = kv[2]!.trim();
    if (section === 'interface') {
      if (key === 'privatekey') iface!.privateKey = value;
      else if (key === 'address') iface!.addresses.push(...list(value));
      else if (key === 'listenport') iface!.listenPort = /^\d{1,5}$/.test(value) ? Number(value) : fail(n, `ListenPort "${value}" is not a port`);
    } else if (section === 'peer') {
      const p = peers[peers.length - 1]!;
      if (key === 'publickey') p.publicKey = value;
      else if (key === 'allowedips') p.allowedIps.push(...list(value));
      else if (key === 'endpoint') p.endpoint = value;
      else if (key === 'persistentkeepalive') p.persistentKeepalive = value === 'off' ? null : /^\d+$/.test(value) ? Number(value) : fail(n, `PersistentKeepalive "${value}" is not a number`);
    } else fail(n, 'a key before any [Interface] or [Peer]');
  }
  if (iface === null) fail(1, 'no [Interface]');
  if (iface.privateKey === undefined) fail(1, 'the [Interface] has no PrivateKey');
  return {
    iface: { privateKey: iface.privateKey, addresses: iface.addresses, listenPort: iface.listenPort },
    peers: peers.map((p) => ({
      publicKey: p.publicKey ?? fail(p.line, 'this [Peer] has no PublicKey'),
      allowedIps: p.allowedIps, endpoint: p.endpoint, persistentKeepalive: p.persistentKeepalive,
    })),
  };
}
