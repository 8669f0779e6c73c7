// The config of a hub run in-process by a test: loopback on free ports, no webhooks, no tunnel, the
// relays given by key; the link section may be overridden (frame size, item limit).
import { join } from 'node:path';
import type { HubConfig } from '../../relay/config/hub-config.js';
import { NO_TUNNEL } from '../../relay/config/tunnel-config.js';
import type { KeyPair } from '../../relay/link/keys.js';

export function inProcessHubConfig(dir: string, opts: {
  readonly token: string;
  readonly relays: ReadonlyArray<readonly [account: string, keys: Pick<KeyPair, 'publicKey'>]>;
  readonly logLevel?: 'info' | 'silent';
  readonly link?: Partial<HubConfig['link']>;
}): HubConfig {
  return {
    dataDir: dir, keyFile: join(dir, 'hub.key'), listen: { host: '127.0.0.1', port: 0 },
    api: { host: '127.0.0.1', port: 0, token: opts.token, maxFileBytes: 1024 * 1024 },
    relays: opts.relays.map(([account, k]) => ({ account, publicKey: Buffer.from(k.publicKey).toString('base64') })),
    webhooks: [], retentionDays: 7, tunnel: NO_TUNNEL, log: { level: opts.logLevel ?? 'info', file: null, logContent: false },
    link: { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 500, backoffCapMs: 30_000, ...opts.link },
  };
}
