// Parses `wg show <interface> dump` (wireguard-tools): one tab-separated line for the interface,
// then one per peer. Pure: the text comes from wg.ts.
import { RelayError } from '../errors.js';

export interface WgPeer {
  readonly publicKey: string;
  /** host:port, or null before the peer's address is known. */
  readonly endpoint: string | null;
  readonly allowedIps: readonly string[];
  /** Unix seconds of the latest completed handshake; 0 = never. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Persistent keepalive in seconds, or null when off. */
  readonly keepaliveSeconds: number | null;
}

export interface WgDump {
  readonly publicKey: string;
  readonly listenPort: number;
  readonly peers: readonly WgPeer[];
}

const KEY = /^[A-Za-z0-9+/]{43}=$/;

function bad(line: number, why: string): never {
  throw new RelayError('TUNNEL_BAD_DUMP', `wg show dump, line ${line}: ${why}`, { line });
}

function count(s: string, line: number, what: string): number {
  if (!/^\d+$/.test(s)) bad(line, `${what} is not a number`);
  return Number(s);
}

/**
 * @throws RelayError TUNNEL_BAD_DUMP when the text is not what `wg show <interface> dump` prints
 * (an `all` dump, with the interface name first, is refused too: the caller asks for one interface).
 */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length === 0) bad(1, 'empty');
  const head = lines[0]!.split('\t');
  if (head.length !== 4) bad(1, `the interface line has ${head.length} fields, not 4`);
  if (!KEY.test(head[1]!)) bad(1, 'no public key');
  const peers = lines.slice(1).map((l, i): WgPeer => {
    const n = i + 2;
    const f = l.split('\t');
    if (f.length !== 8) bad(n, `a peer line has ${f.length} fields, not 8`);
    if (!KEY.test(f[0]!)) bad(n, 'no peer public key');
    return {
      publicKey: f[0]!,
      endpoint: f[2] === '(none)' ? null : f[2]!,
      allowedIps: f[3] === '(none)' ? [] : f[3]!.split(','),
      latestHandshake: count(f[4]!, n, 'latest handshake'),
      rxBytes: count(f[5]!, n, 'received bytes'),
      txBytes: count(f[6]!, n, 'sent bytes'),
      keepaliveSeconds: f[7] === 'off' ? null : count(f[7]!, n, 'keepalive'),
    };
  });
  return { publicKey: head[1]!, listenPort: count(head[2]!, 1, 'listen port'), peers };
}
