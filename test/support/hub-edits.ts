// Changes to a prepared RelayEnv's hub config before the hub starts: more pinned relays (peers a
// test drives by hand) and link settings such as the handshake rate limits.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKeyFile, writeNewKeyFile, type KeyPair } from '../../relay/link/keys.js';
import type { RelayEnv } from './relay-env.js';

type HubJson = { relays: Array<{ account: string; publicKey: string }>; link: Record<string, unknown> };

function edit(env: RelayEnv, change: (c: HubJson) => void): void {
  const c = JSON.parse(readFileSync(env.hubConfig, 'utf8')) as HubJson;
  change(c);
  writeFileSync(env.hubConfig, JSON.stringify(c));
}

/** Pins a new relay key for `account` in the hub's config and returns the key pair. */
export function pinRelay(env: RelayEnv, account: string): KeyPair {
  const keys = writeNewKeyFile(join(env.dir, 'keys', `${account}.key`));
  edit(env, (c) => c.relays.push({ account, publicKey: Buffer.from(keys.publicKey).toString('base64') }));
  return keys;
}

/** Merges settings into the hub's `link` section. */
export function hubLink(env: RelayEnv, settings: Record<string, unknown>): void {
  edit(env, (c) => { c.link = { ...c.link, ...settings }; });
}

/** Handshake limits no test connection meets (for tests about something else). */
export const NO_HANDSHAKE_LIMITS = { handshakeBurst: 1_000_000, handshakesPerMinutePerAddress: 1_000_000, handshakesPerMinutePerKey: 1_000_000 };

/** The Mac relay's key pair (its public key is what an impostor would present). */
export function relayKeys(env: RelayEnv): KeyPair {
  return readKeyFile(join(env.dir, 'keys', 'relay.key'));
}
