// The `tunnel` section (both daemons): which WireGuard interface the link runs in, how to watch it,
// and how to heal it (the endpoint name to look up again, the restart command, the backoff).
import type { ConfigNode } from './validate.js';

export interface TunnelConfig {
  /** The WireGuard interface (e.g. "wg0", or the name wireguard-go was started with); null = not watched. */
  readonly interface: string | null;
  /** The peer's public key to watch; null = the interface's first peer. */
  readonly peer: string | null;
  /** argv prefix that runs wg: ["wg"], or ["sudo", "-n", "/opt/homebrew/bin/wg"] where wg needs root. */
  readonly command: readonly string[];
  readonly checkSeconds: number;
  /** Silent longer than this (no handshake, no byte received), no packet passes (WireGuard: 180 s). */
  readonly maxHandshakeAgeSeconds: number;
  /** The peer's endpoint name (`host:port`) looked up again while the tunnel is dead; null = never. */
  readonly endpoint: string | null;
  /** argv(s) that restart the tunnel while it stays dead (run in order); null = never restarted. */
  readonly restartCommand: readonly (readonly string[])[] | null;
  /** No interface, no peer or no handshake yet for this long before the first heal action. */
  readonly healAfterSeconds: number;
  /** Heal attempts spaced base, 2×base, … up to the cap. */
  readonly healBackoffSeconds: number;
  readonly healBackoffCapSeconds: number;
}

export function parseTunnel(node: ConfigNode): TunnelConfig {
  node.only(['interface', 'peer', 'command', 'checkSeconds', 'maxHandshakeAgeSeconds', 'endpoint', 'restartCommand', 'healAfterSeconds', 'healBackoffSeconds', 'healBackoffCapSeconds']);
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
    ...parseHeal(node, iface),
  };
}

function parseHeal(node: ConfigNode, iface: string | null): Pick<TunnelConfig, 'endpoint' | 'restartCommand' | 'healAfterSeconds' | 'healBackoffSeconds' | 'healBackoffCapSeconds'> {
  const endpoint = node.optionalString('endpoint');
  const m = endpoint === null ? null : /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(endpoint);
  if (endpoint !== null && (m === null || Number(m[1]) < 1 || Number(m[1]) > 65535)) node.fail('endpoint', 'the peer\'s host:port (e.g. "hub.example.net:51820"; an IPv6 address in brackets)', endpoint);
  const restartCommand = node.commands('restartCommand');
  if (iface === null && endpoint !== null) node.fail('endpoint', 'set only with tunnel.interface (the interface whose peer it moves)', endpoint);
  if (iface === null && restartCommand !== null) node.fail('restartCommand', 'set only with tunnel.interface (the interface it restarts)', restartCommand);
  const base = node.number('healBackoffSeconds', 10, { min: 0.1, max: 86_400 });
  return {
    endpoint,
    restartCommand,
    healAfterSeconds: node.number('healAfterSeconds', 30, { min: 0, max: 86_400 }),
    healBackoffSeconds: base,
    healBackoffCapSeconds: node.number('healBackoffCapSeconds', Math.max(600, base), { min: base, max: 86_400 }),
  };
}

/** No tunnel watched (the defaults of an empty `tunnel` section). */
export const NO_TUNNEL: TunnelConfig = {
  interface: null, peer: null, command: ['wg'], checkSeconds: 10, maxHandshakeAgeSeconds: 180,
  endpoint: null, restartCommand: null, healAfterSeconds: 30, healBackoffSeconds: 10, healBackoffCapSeconds: 600,
};
