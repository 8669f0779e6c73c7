// Both config schemas refuse a typo in every section (the daemon must not start on a config that
// silently ignores what the admin wrote), naming the key; a valid config with every section parses.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RelayError } from '../../relay/errors.js';
import { parseHubConfig } from '../../relay/config/hub-config.js';
import { parseMacConfig } from '../../relay/config/mac-config.js';
import { ConfigNode } from '../../relay/config/validate.js';
import { tempDir } from '../support/chatdb-env.js';

const KEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const tmp = tempDir('imr-config-');
const FILE = join(tmp.dir, 'config.json');
const TOKEN_FILE = join(tmp.dir, 'token');
const SECRET_FILE = join(tmp.dir, 'whsecret');
writeFileSync(TOKEN_FILE, 'a-token-of-32-characters-0123456', { mode: 0o600 });
writeFileSync(SECRET_FILE, 'webhook-secret', { mode: 0o600 });

type Json = Record<string, unknown>;

/** A Mac config with every section present. */
const macConfig = (): Json => ({
  chatDb: '/tmp/chat.db', dataDir: '/tmp/relay', keyFile: '/tmp/relay.key',
  hub: { url: 'wss://hub.example:7443', publicKey: KEY },
  health: { host: '127.0.0.1', port: 7481 },
  reader: { settleMs: 500, ageFenceMinutes: 15, pollIntervalMs: 1000 },
  link: { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1 << 20, backoffBaseMs: 500, backoffCapMs: 30_000, window: 5000, batch: 500 },
  outbox: { degradedDepth: 1000, degradedAgeSeconds: 120 },
  sender: { enabled: true, osascript: '/usr/bin/osascript', timeoutMs: 30_000, perSecond: 3, perChatPerSecond: 1, confirmMs: 10_000, followMs: 600_000 },
  attachments: { stagingDir: '/tmp/staging', maxBytes: 1 << 20, waitSeconds: 600, upload: true },
  quietMinutes: 0, retentionDays: 7,
  tunnel: { interface: 'wg0', peer: KEY, command: ['wg'], checkSeconds: 10, maxHandshakeAgeSeconds: 180 },
  log: { level: 'info', file: '/tmp/relay.log', logContent: false },
});

/** A hub config with every section present. */
const hubConfig = (): Json => ({
  dataDir: '/tmp/hub', keyFile: '/tmp/hub.key',
  listen: { host: '127.0.0.1', port: 7443 },
  api: { host: '127.0.0.1', port: 7480, tokenFile: TOKEN_FILE, maxFileBytes: 1 << 20 },
  relays: [{ account: 'alice', publicKey: KEY }],
  webhooks: [{ name: 'main', url: 'https://example.com/hook', secretFile: SECRET_FILE, maxAttempts: 10, backoffBaseMs: 1000, backoffCapMs: 600_000, timeoutMs: 10_000, concurrency: 32 }],
  link: { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1 << 20, backoffBaseMs: 500, backoffCapMs: 30_000 },
  retentionDays: 7,
  tunnel: { interface: 'wg0', peer: KEY, command: ['wg'], checkSeconds: 10, maxHandshakeAgeSeconds: 180 },
  log: { level: 'info', file: null, logContent: false },
});

const parseMac = (c: Json): unknown => parseMacConfig(ConfigNode.root(c, FILE), FILE);
const parseHub = (c: Json): unknown => parseHubConfig(ConfigNode.root(c, FILE), FILE, {});

/** `config` with `typo: 1` added to the section at `path` ('' = the top level, 'relays.0' = an array item). */
function withTypo(config: Json, path: string, typo: string): Json {
  const copy = structuredClone(config);
  let node = copy as Record<string, unknown>;
  for (const part of path.split('.').filter((p) => p !== '')) node = node[part] as Record<string, unknown>;
  node[typo] = 1;
  return copy;
}

function refused(parse: () => unknown, key: string): RelayError {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof RelayError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID', err.message);
    assert.equal(err.details['key'], key, err.message);
    return err;
  }
  assert.fail(`a config with "${key}" was accepted`);
}

after(() => tmp.cleanup());

describe('config: a typo in any section is refused', () => {
  it('the Mac config with every section parses, with the values given', () => {
    const c = parseMacConfig(ConfigNode.root(macConfig(), FILE), FILE);
    assert.equal(c.reader.settleMs, 500);
    assert.equal(c.link.window, 5000);
    assert.equal(c.sender.perChatPerSecond, 1);
    assert.equal(c.tunnel.interface, 'wg0');
  });

  const macTypos: Array<[string, string]> = [
    ['', 'chatDB'], ['hub', 'publickey'], ['health', 'prot'], ['reader', 'setleMs'], ['link', 'heartbeatMS'],
    ['outbox', 'degradedDepht'], ['sender', 'perSecnd'], ['attachments', 'maxByte'], ['tunnel', 'interfase'], ['log', 'levle'],
  ];
  for (const [section, typo] of macTypos) {
    it(`Mac config: "${section === '' ? typo : `${section}.${typo}`}" is refused, naming the key`, () => {
      const key = section === '' ? typo : `${section}.${typo}`;
      const err = refused(() => parseMac(withTypo(macConfig(), section, typo)), key);
      assert.match(err.message, new RegExp(`"${key.replace('.', '\\.')}" must be one of the known keys`));
    });
  }

  it('the hub config with every section parses, with the values given', () => {
    const c = parseHubConfig(ConfigNode.root(hubConfig(), FILE), FILE, {});
    assert.equal(c.api.token, 'a-token-of-32-characters-0123456');
    assert.equal(c.webhooks[0]!.secret, 'webhook-secret');
    assert.equal(c.relays[0]!.account, 'alice');
    assert.equal(c.listen.port, 7443);
  });

  const hubTypos: Array<[string, string, string]> = [
    ['', 'webhook', 'webhook'], ['listen', 'hots', 'listen.hots'], ['api', 'tokenfile', 'api.tokenfile'],
    ['relays.0', 'pubkey', 'relays[0].pubkey'], ['webhooks.0', 'secretfile', 'webhooks[0].secretfile'],
    ['link', 'deadAfter', 'link.deadAfter'], ['tunnel', 'peers', 'tunnel.peers'], ['log', 'fiel', 'log.fiel'],
  ];
  for (const [section, typo, key] of hubTypos) {
    it(`hub config: "${key}" is refused, naming the key`, () => {
      refused(() => parseHub(withTypo(hubConfig(), section, typo)), key);
    });
  }

  it('the Mac link section does not accept the hub-only keys, and the hub link section not the Mac-only ones', () => {
    refused(() => parseHub(withTypo(hubConfig(), 'link', 'window')), 'link.window');
    const mac = macConfig();
    (mac['link'] as Json)['window'] = 10;
    assert.equal((parseMacConfig(ConfigNode.root(mac, FILE), FILE)).link.window, 10);
  });
});

describe('config: values out of range are refused, naming the key', () => {
  it('deadAfterMs must be more than heartbeatMs (equal is refused), on both daemons', () => {
    const mac = macConfig();
    (mac['link'] as Json)['deadAfterMs'] = 10_000;
    refused(() => parseMac(mac), 'link.deadAfterMs');
    const hub = hubConfig();
    (hub['link'] as Json)['deadAfterMs'] = 10_000;
    refused(() => parseHub(hub), 'link.deadAfterMs');
    (hub['link'] as Json)['deadAfterMs'] = 10_001;
    assert.equal((parseHubConfig(ConfigNode.root(hub, FILE), FILE, {})).link.deadAfterMs, 10_001);
  });

  it('the sender limits, the settle window and ports have bounds', () => {
    const cases: Array<[string, string, unknown]> = [
      ['sender', 'perSecond', 0], ['sender', 'perChatPerSecond', -1], ['reader', 'settleMs', -5], ['reader', 'settleMs', 1.5],
      ['reader', 'pollIntervalMs', 5], ['health', 'port', 65_536], ['hub', 'url', 'https://hub.example'], ['link', 'window', 0],
    ];
    for (const [section, k, v] of cases) {
      const mac = macConfig();
      (mac[section] as Json)[k] = v;
      refused(() => parseMac(mac), `${section}.${k}`);
    }
  });

  it('the hub refuses a duplicate relay account, a short token and an unsigned webhook', () => {
    const dup = hubConfig();
    dup['relays'] = [{ account: 'alice', publicKey: KEY }, { account: 'alice', publicKey: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=' }];
    refused(() => parseHub(dup), 'relays[1].account');
    const shortToken = join(tmp.dir, 'short');
    writeFileSync(shortToken, 'short', { mode: 0o600 });
    const short = hubConfig();
    (short['api'] as Json)['tokenFile'] = shortToken;
    refused(() => parseHub(short), 'api.tokenFile');
    const unsigned = hubConfig();
    delete ((unsigned['webhooks'] as Json[])[0]!)['secretFile'];
    refused(() => parseHub(unsigned), 'webhooks[0].secretFile');
  });
});
