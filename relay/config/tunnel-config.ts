// The `tunnel` section (both daemons): which WireGuard interface the link runs in, and how to watch it.
import type { ConfigNode } from './validate.js';

export interface TunnelConfig {
  /** The WireGuard interface (e.g. "wg0", or the name wireguard-go was started with); null = not watched. */
  readonly interface: string | null;
  /** The peer's public key to watch; null = the interface's first peer. */
  readonly peer: string | null;
  /** argv prefix that runs wg: ["wg"], or ["sudo", "-n", "/opt/homebrew/bin/wg"] where wg needs root. */
  readonly command: readonly string[];
  readonly checkSeconds: number;
  /** Older than this, the handshake means no packet passes (WireGuard: 180 s). */
  readonly maxHandshakeAgeSeconds: number;
}

export function parseTunnel(node: ConfigNode): TunnelConfig {
  node.only(['interface', 'peer', 'command', 'checkSeconds', 'maxHandshakeAgeSeconds']);
  const iface = node.optionalString('interface');
  if (iface !== null && !/^[A-Za-z0-9_.=+-]{1,15}$/.test(iface)) node.fail('interface', 'an interface name (letters, digits, _.=+-, at most 15)', iface);
  const peer = node.optionalString('peer');
  if (peer !== null && !/^[A-Za-z0-9+/]{43}=$/.test(peer)) node.fail('peer', 'a WireGuard public key (44 base64 characters)', peer);
  return {
    interface: iface,
    peer,
    command: node.strings('command', ['wg']),
    checkSeconds: node.number('checkSeconds', 10, { min: 0.1, max: 3600 }),
    maxHandshakeAgeSeconds: node.number('maxHandshakeAgeSeconds', 180, { min: 1 }),
  };
}

/** No tunnel watched (the defaults of an empty `tunnel` section). */
export const NO_TUNNEL: TunnelConfig = { interface: null, peer: null, command: ['wg'], checkSeconds: 10, maxHandshakeAgeSeconds: 180 };
