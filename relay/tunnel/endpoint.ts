// The peer's endpoint name (`host:port`) resolved again, as `wg` would print it: WireGuard looks a
// name up once, when the interface is configured, so a hub whose address changed is only found anew.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { RelayError } from '../errors.js';

/** Looks a host name up (the system resolver: hosts file, then DNS); resolves with one address. */
export type ResolveHost = (host: string) => Promise<string>;

/** The system resolver's first address for `host`, as getaddrinfo gives it to `wg` itself. */
export const systemResolve: ResolveHost = async (host) => (await lookup(host)).address;

/** `host:port` split; `[v6]:port` for an IPv6 literal. @throws RelayError TUNNEL_BAD_ENDPOINT */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(endpoint);
  const port = m === null ? 0 : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new RelayError('TUNNEL_BAD_ENDPOINT', `"${endpoint}" is not host:port (an IPv6 address in brackets)`, { endpoint });
  }
  return { host: m[1] ?? m[2]!, port };
}

/** `addr:port` as `wg show … dump` prints an endpoint (`[addr]:port` for IPv6). */
export function formatEndpoint(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The endpoint's name looked up now, as `addr:port`.
 * @throws RelayError TUNNEL_BAD_ENDPOINT (not host:port), TUNNEL_RESOLVE_FAILED (the lookup failed)
 */
export async function resolveEndpoint(endpoint: string, resolve: ResolveHost): Promise<string> {
  const { host, port } = splitEndpoint(endpoint);
  if (isIP(host) !== 0) return formatEndpoint(host, port);
  let address: string;
  try {
    address = await resolve(host);
  } catch (err) {
    const why = (err as { code?: unknown }).code ?? (err as Error).message;
    throw new RelayError('TUNNEL_RESOLVE_FAILED', `could not resolve ${host}: ${String(why)}`, { host }, { cause: err });
  }
  return formatEndpoint(address, port);
}
