// The configs `imessage-relay init` writes: only the keys that differ from the defaults (the
// validator refuses unknown keys, so the explanation goes in a notes file beside the JSON), and the
// one edit init makes later: adding a relay to the hub's `relays`.
import { isIP } from 'node:net';
import { join } from 'node:path';
import { RelayError } from '../errors.js';
import { configPath } from './load.js';

/** Defaults of hub-config.ts and mac-config.ts that init compares against (test/cli/init.test.ts parses what it writes). */
const DEFAULT = { listen: { host: '127.0.0.1', port: 7443 }, api: { host: '127.0.0.1', port: 7480 }, health: { host: '127.0.0.1', port: 7481 }, hubDataDir: './hub-data' };

export const InitCode = { Exists: 'INIT_EXISTS', PeerExists: 'INIT_PEER_EXISTS' } as const;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** An account name: what the hub calls a relay (one Apple ID) in its API and health. */
export const ACCOUNT = /^[A-Za-z0-9._@+-]{1,64}$/;

/** Parses `host:port`, `[v6]:port`, or a bare host (with `defaultPort`); null when it is none of these. */
export function parseHostPort(text: string, defaultPort?: number): HostPort | null {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed !== null) {
    [, host = '', portText] = bracketed;
    if (isIP(host) !== 6) return null;
  } else if (isIP(text) === 6) {
    host = text; // a bare IPv6 address carries no port: "[fd00::1]:7443" does
  } else {
    const plain = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(text);
    if (plain === null) return null;
    [, host = '', portText] = plain;
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === undefined || port < 1 || port > 65535) return null;
  return { host, port };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

function hostPortDiff(hp: HostPort | null, d: HostPort): Record<string, string | number> | undefined {
  if (hp === null) return undefined;
  const out: Record<string, string | number> = {};
  if (hp.host !== d.host) out['host'] = hp.host;
  if (hp.port !== d.port) out['port'] = hp.port;
  return Object.keys(out).length === 0 ? undefined : out;
}

export interface HubStarter {
  readonly listen: HostPort;
  readonly api: HostPort | null;
  /** Absolute, or null for the default (`hub-data` beside the config). */
  readonly dataDir: string | null;
}

/** The hub's first config: link address, API token file, no relay yet (the hub refuses to start until one is added). */
export function hubStarterConfig(o: HubStarter): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  if (o.dataDir !== null) json['dataDir'] = o.dataDir;
  const listen = hostPortDiff(o.listen, DEFAULT.listen);
  if (listen !== undefined) json['listen'] = listen;
  json['api'] = { ...hostPortDiff(o.api, DEFAULT.api), tokenFile: o.dataDir === null ? 'hub-data/api.token' : join(o.dataDir, 'api.token') };
  json['relays'] = [];
  return json;
}

/** Where the hub's config (as JSON, not yet validated) puts its data, key and token file. */
export function hubFiles(json: Record<string, unknown>, configFile: string): { dataDir: string; keyFile: string; tokenFile: string | null } {
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const dataDir = configPath(str(json['dataDir']) ?? DEFAULT.hubDataDir, configFile);
  const keyFile = configPath(str(json['keyFile']) ?? join(dataDir, 'hub.key'), configFile);
  const api = json['api'] !== null && typeof json['api'] === 'object' ? json['api'] as Record<string, unknown> : {};
  const token = str(api['tokenFile']);
  return { dataDir, keyFile, tokenFile: token === null ? null : configPath(token, configFile) };
}

/** True for a URL the Mac can dial: ws:// or wss:// with a host. */
export function isHubUrl(url: string): boolean {
  if (!/^wss?:\/\/\S+$/.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/** `ws://<listen>` of a hub config (as JSON); null when it listens on every address (0.0.0.0, ::), which no Mac can dial. */
export function hubDialUrl(json: Record<string, unknown>): string | null {
  const l = json['listen'] !== null && typeof json['listen'] === 'object' ? json['listen'] as Record<string, unknown> : {};
  const host = typeof l['host'] === 'string' ? l['host'] : DEFAULT.listen.host;
  const port = typeof l['port'] === 'number' ? l['port'] : DEFAULT.listen.port;
  if (host === '0.0.0.0' || host === '::' || host === '' || port === 0) return null;
  return `ws://${formatHostPort({ host, port })}`;
}

export interface MacStarter {
  readonly hubUrl: string;
  readonly hubPublicKey: string;
  /** Absolute paths, or null for the defaults (`~/Library/Messages/chat.db`, `~/Library/Application Support/imessage-relay`). */
  readonly chatDb: string | null;
  readonly dataDir: string | null;
  readonly health: HostPort | null;
}

/** The Mac's config: the hub it dials and pins, and whatever was asked to differ. */
export function macStarterConfig(o: MacStarter): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  if (o.chatDb !== null) json['chatDb'] = o.chatDb;
  if (o.dataDir !== null) json['dataDir'] = o.dataDir;
  json['hub'] = { url: o.hubUrl, publicKey: o.hubPublicKey };
  const health = hostPortDiff(o.health, DEFAULT.health);
  if (health !== undefined) json['health'] = health;
  return json;
}

/**
 * Adds `{account, publicKey}` to the hub config's `relays` (in place).
 * @returns false when exactly this relay is already there (nothing to do)
 * @throws RelayError INIT_PEER_EXISTS when the account or the key is there with another partner
 */
export function addRelay(json: Record<string, unknown>, relay: { account: string; publicKey: string }, file: string): boolean {
  const relays = json['relays'] ?? [];
  if (!Array.isArray(relays)) throw new RelayError('CONFIG_INVALID', `${file}: "relays" must be an array`, { file, key: 'relays' });
  const same = (a: unknown): boolean => typeof a === 'string' && Buffer.from(a, 'base64').equals(Buffer.from(relay.publicKey, 'base64'));
  for (const r of relays as Array<Record<string, unknown> | null>) {
    const account = r?.['account'];
    const key = r?.['publicKey'];
    if (account === relay.account && same(key)) return false;
    if (account === relay.account) {
      throw new RelayError(InitCode.PeerExists, `${file}: account "${relay.account}" already has a relay with another key; remove that entry from "relays" first if this Mac replaces it`, { file, account: relay.account });
    }
    if (same(key)) {
      throw new RelayError(InitCode.PeerExists, `${file}: this Mac's key is already in "relays" as account "${String(account)}"`, { file, account: String(account) });
    }
  }
  json['relays'] = [...relays, { account: relay.account, publicKey: relay.publicKey }];
  return true;
}

const WHY: Record<string, string> = {
  dataDir: 'where the store, the key and the logs live',
  chatDb: 'the Messages database to read',
  listen: 'where the link server listens (bind the WireGuard address)',
  api: 'the assistant API: tokenFile holds its bearer token (mode 0600)',
  relays: 'the Macs allowed in, {account, publicKey}; "imessage-relay init --hub --add-relay <line>" adds one',
  hub: 'the hub this Mac dials, and its pinned public key',
  health: 'where /health and /metrics listen',
};

const EXAMPLES = {
  hub: [
    '"webhooks": [{"name": "main", "url": "https://assistant.example/hook", "format": "standard", "secretFile": "hub-data/webhook.secret"}]',
    '    signed as Standard Webhooks; make its secret: (umask 077; echo "whsec_$(openssl rand -base64 32)" > hub-data/webhook.secret)',
    '"tunnel": {"interface": "imr0"}          watch the WireGuard tunnel (see "imessage-relay tunnel config")',
    '"retentionDays": 7',
    '"log": {"level": "debug"}',
  ],
  mac: [
    '"tunnel": {"interface": "imr0", "command": ["sudo", "-n", "/opt/homebrew/bin/wg"]}',
    '"quietMinutes": 240                      degraded health after 4 hours without a message',
    '"sender": {"perSecond": 3, "perChatPerSecond": 1}',
    '"log": {"level": "debug"}',
  ],
};

/** The notes written beside a config: why each key is there, and keys one may add, by example. */
export function configNotes(side: 'hub' | 'mac', json: Record<string, unknown>, configName: string): string {
  const keys = Object.keys(json).map((k) => `  ${`"${k}"`.padEnd(12)} ${WHY[k] ?? ''}`.trimEnd());
  return [
    `${configName} was written by "imessage-relay init --${side}". It holds only the keys that differ from`,
    'the defaults: every other key keeps its default. JSON has no comments and the config refuses',
    'unknown keys (to catch typos), so the explanations are here. README "Configuration" lists every key.',
    '',
    'In the file:',
    ...keys,
    '',
    'Keys you may add (examples):',
    ...EXAMPLES[side].map((e) => `  ${e}`),
    '',
    `Start over: remove ${configName} and the files it names (the key and${side === 'hub' ? ' the API token' : ''} under its data folder),`,
    'then run init again; a new key means the other side must pair again.',
    '',
  ].join('\n');
}
