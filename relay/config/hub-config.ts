// The hub's config (`imessage-relay hub`), validated at start. Secrets (API token, webhook signing
// secrets) come from files with mode 0600 or from the environment, never from the config itself.
import { parseTunnel, type TunnelConfig } from './tunnel-config.js';
import { join } from 'node:path';
import { configPath, readSecret } from './load.js';
import { parseLink, parseListen, parseLog, type LinkConfig, type LogConfig } from './mac-config.js';
import type { ConfigNode } from './validate.js';
import { DEFAULT_MAX_FILE_BYTES } from '../model/files.js';
import { parseUpkeep, type UpkeepSchedules } from './upkeep-config.js';

/**
 * How deliveries are signed: `relay` (the default): `X-Relay-Signature: v1=<hex>` over
 * "<timestamp>.<body>"; `standard`: the Standard Webhooks specification (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`), with a `whsec_` secret.
 */
export type WebhookFormat = 'relay' | 'standard';

/**
 * The key of a Standard Webhooks secret: `whsec_` then base64 of 24 to 64 random bytes (the
 * specification's range); null for anything else.
 */
export function standardWebhookKey(secret: string): Buffer | null {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (m === null || m[1]!.length % 4 !== 0) return null;
  const key = Buffer.from(m[1]!, 'base64');
  return key.length >= 24 && key.length <= 64 ? key : null;
}

export interface WebhookConfig {
  readonly name: string;
  readonly url: string;
  readonly secret: string;
  /** Absent: `relay`. */
  readonly format?: WebhookFormat;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
}

/** The hub's `link` section: the shared link settings and the handshake rate limits (PROTOCOL.md §2). */
export interface HubLinkConfig extends LinkConfig {
  /** Handshakes one source address, or one relay key, may make at once before the rates apply. */
  readonly handshakeBurst?: number;
  readonly handshakesPerMinutePerAddress?: number;
  readonly handshakesPerMinutePerKey?: number;
}

export interface HubConfig {
  readonly dataDir: string;
  readonly keyFile: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly api: { readonly host: string; readonly port: number; readonly token: string; readonly maxFileBytes: number };
  readonly relays: ReadonlyArray<{ readonly account: string; readonly publicKey: string }>;
  readonly webhooks: readonly WebhookConfig[];
  readonly link: HubLinkConfig;
  readonly retentionDays: number;
  readonly tunnel: TunnelConfig;
  readonly log: LogConfig;
  /** When the scheduled upkeep jobs run (absent in a config built in code: the defaults). */
  readonly upkeep?: UpkeepSchedules;
}

export function parseHubConfig(root: ConfigNode, file: string, env: NodeJS.ProcessEnv): HubConfig {
  root.only(['dataDir', 'keyFile', 'listen', 'api', 'relays', 'webhooks', 'link', 'retentionDays', 'tunnel', 'log', 'upkeep']);
  const dataDir = configPath(root.string('dataDir', './hub-data'), file);
  const apiNode = root.object('api');
  apiNode.only(['host', 'port', 'tokenFile', 'tokenEnv', 'maxFileBytes']);
  const token = readSecret(apiNode, 'token', file, env) ?? (env['IMESSAGE_RELAY_API_TOKEN'] || null)
    ?? apiNode.fail('tokenFile', 'set (or tokenEnv, or IMESSAGE_RELAY_API_TOKEN in the environment): the API needs a bearer token');
  if (token.length < 16) apiNode.fail('tokenFile', 'a token of at least 16 characters', `${token.length} characters`);
  const relays = root.array('relays').map((r) => {
    r.only(['account', 'publicKey']);
    return { account: r.string('account'), publicKey: r.string('publicKey') };
  });
  if (relays.length === 0) root.fail('relays', 'a list of at least one {account, publicKey}', []);
  const seen = new Set<string>();
  for (const [i, r] of relays.entries()) {
    if (seen.has(r.account)) root.fail(`relays[${i}].account`, 'unique', r.account);
    seen.add(r.account);
  }
  const webhooks = root.array('webhooks').map((w, i) => {
    w.only(['name', 'url', 'format', 'secretFile', 'secretEnv', 'maxAttempts', 'backoffBaseMs', 'backoffCapMs', 'timeoutMs', 'concurrency']);
    const url = w.string('url');
    if (!/^https?:\/\//.test(url)) w.fail('url', 'an http:// or https:// URL', url);
    const format = w.string('format', 'relay');
    if (format !== 'relay' && format !== 'standard') w.fail('format', '"relay" or "standard"', format);
    const secret = readSecret(w, 'secret', file, env) ?? w.fail('secretFile', 'set (or secretEnv): webhooks are always signed');
    if (format === 'standard' && standardWebhookKey(secret) === null) {
      w.fail(w.has('secretEnv') ? 'secretEnv' : 'secretFile', 'a Standard Webhooks secret: "whsec_" then base64 of 24 to 64 random bytes (make one: echo "whsec_$(openssl rand -base64 32)")', 'a secret of another form');
    }
    return {
      name: w.string('name', `hook${i + 1}`), url, secret, format: format as WebhookFormat,
      maxAttempts: w.number('maxAttempts', 10, { min: 1, integer: true }),
      backoffBaseMs: w.number('backoffBaseMs', 1000, { min: 1, integer: true }),
      backoffCapMs: w.number('backoffCapMs', 600_000, { min: 1, integer: true }),
      timeoutMs: w.number('timeoutMs', 10_000, { min: 10, integer: true }),
      concurrency: w.number('concurrency', 32, { min: 1, max: 256, integer: true }),
    };
  });
  const linkNode = root.object('link');
  return {
    dataDir,
    keyFile: configPath(root.string('keyFile', join(dataDir, 'hub.key')), file),
    listen: parseListen(root.object('listen'), 7443),
    api: {
      host: apiNode.string('host', '127.0.0.1'), port: apiNode.number('port', 7480, { min: 0, max: 65535, integer: true }), token,
      maxFileBytes: apiNode.number('maxFileBytes', DEFAULT_MAX_FILE_BYTES, { min: 1, max: 2 ** 40, integer: true }),
    },
    relays,
    webhooks,
    link: {
      ...parseLink(linkNode, ['handshakeBurst', 'handshakesPerMinutePerAddress', 'handshakesPerMinutePerKey']),
      handshakeBurst: linkNode.number('handshakeBurst', 30, { min: 1, integer: true }),
      handshakesPerMinutePerAddress: linkNode.number('handshakesPerMinutePerAddress', 60, { min: 1 }),
      handshakesPerMinutePerKey: linkNode.number('handshakesPerMinutePerKey', 120, { min: 1 }),
    },
    retentionDays: root.number('retentionDays', 7, { min: 0 }),
    tunnel: parseTunnel(root.object('tunnel')),
    log: parseLog(root.object('log'), join(dataDir, 'logs', 'hub.log')),
    upkeep: parseUpkeep(root.object('upkeep')),
  };
}
