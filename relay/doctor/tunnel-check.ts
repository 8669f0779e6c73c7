// The WireGuard tunnel the link runs in (when `tunnel.interface` is set): the interface is up and
// its handshake with the peer younger than `tunnel.maxHandshakeAgeSeconds`. A running daemon's own
// watchdog is read instead when there is one.
import type { TunnelConfig } from '../config/tunnel-config.js';
import { asRelayError } from '../errors.js';
import type { WgShow } from '../tunnel/wg.js';
import { failed, passed, skipped, type CheckResult } from './check.js';
import type { ComponentView } from './health-view.js';

function fixFor(code: string | null, t: TunnelConfig, conf: string): string {
  const iface = t.interface ?? '?';
  switch (code) {
    case 'TUNNEL_NO_INTERFACE': return `bring the tunnel up: sudo wg-quick up ${conf}`;
    case 'TUNNEL_WG_MISSING': return 'install wireguard-tools (brew install wireguard-tools / apt-get install wireguard-tools), or set tunnel.command to where wg is';
    case 'TUNNEL_PERMISSION': return `let this user run wg show: set tunnel.command to ["sudo", "-n", "<path to wg>"] with a sudoers rule for \`wg show ${iface} dump\``;
    case 'TUNNEL_NO_PEER': return `the interface has no peer${t.peer === null ? '' : ' with tunnel.peer'}: check its [Peer] section (imessage-relay tunnel config) and tunnel.peer`;
    case 'TUNNEL_NO_HANDSHAKE':
    case 'TUNNEL_STALE': return `the other end does not answer: check that the peer's tunnel is up (wg show on it), its Endpoint is reachable on UDP, and both [Peer] keys match; then \`sudo wg-quick down ${conf} && sudo wg-quick up ${conf}\``;
    default: return `run \`${t.command.join(' ')} show ${iface} dump\` by hand to see what it says`;
  }
}

/** `wg`: the `wg show` runner for the configured command; `daemon`: the running daemon's `tunnel` component, or null. */
export async function checkTunnel(t: TunnelConfig, wg: WgShow, now: () => number, daemon: ComponentView | null | undefined): Promise<CheckResult> {
  const name = 'tunnel';
  const iface = t.interface;
  if (iface === null) return skipped(name, 'no tunnel.interface in the config: the tunnel is not watched');
  // wg-quick takes the interface's name and finds /etc/wireguard/<name>.conf (a name ending in .conf would be looked up as <name>.conf.conf).
  const conf = iface;
  if (daemon !== null && daemon !== undefined) {
    if (daemon.state === 'ok') return passed(name, `${iface} up`, 'daemon /health');
    const code = typeof daemon['code'] === 'string' ? daemon['code'] : null;
    return failed(name, `${code === null ? '' : `${code}: `}${daemon.reason ?? 'down'}`, fixFor(code, t, conf), 'daemon /health');
  }
  try {
    const dump = await wg(iface);
    const peer = t.peer === null ? dump.peers[0] : dump.peers.find((p) => p.publicKey === t.peer);
    if (peer === undefined) return failed(name, `TUNNEL_NO_PEER: ${iface} has no ${t.peer === null ? 'peer' : `peer with the key ${t.peer.slice(0, 8)}…`}`, fixFor('TUNNEL_NO_PEER', t, conf));
    if (peer.latestHandshake === 0) return failed(name, `TUNNEL_NO_HANDSHAKE: ${iface} is up but has had no handshake with ${peer.endpoint ?? 'its peer (no endpoint)'}`, fixFor('TUNNEL_NO_HANDSHAKE', t, conf));
    const ageS = Math.max(0, Math.round(now() / 1000 - peer.latestHandshake));
    if (ageS > t.maxHandshakeAgeSeconds) {
      return failed(name, `TUNNEL_STALE: ${iface}'s last handshake with ${peer.endpoint ?? 'its peer'} was ${ageS} s ago (limit ${t.maxHandshakeAgeSeconds} s)`, fixFor('TUNNEL_STALE', t, conf));
    }
    return passed(name, `${iface} up, last handshake ${ageS} s ago with ${peer.endpoint ?? 'its peer'}`);
  } catch (err) {
    const e = asRelayError(err, 'TUNNEL_WG_FAILED');
    return failed(name, `${e.code}: ${e.message}`, fixFor(e.code, t, conf));
  }
}
