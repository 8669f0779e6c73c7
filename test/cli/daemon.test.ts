// The daemons as an admin meets them: config errors that name the key, keygen's 0600 key file,
// clean exit on SIGTERM, logs that never hold message text or full handles, and `logs`.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { freePort, runCli } from '../support/processes.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => runCli(args, { env });

describe('config, keys and lifecycle', () => {
  it('keygen writes a 0600 key file, prints the public key, and never overwrites', async () => {
    const t = tempDir();
    try {
      const out = join(t.dir, 'k', 'relay.key');
      const r = await cli(['keygen', '--out', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout) as { publicKey: string; fingerprint: string };
      assert.equal(Buffer.from(info.publicKey, 'base64').length, 32);
      assert.match(info.fingerprint, /^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/);
      assert.equal(statSync(out).mode & 0o777, 0o600);
      const again = await cli(['keygen', '--out', out]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /KEY_EXISTS/);
    } finally { t.cleanup(); }
  });

  it('a bad config fails at start with an error naming the key and what was expected', async () => {
    const t = tempDir();
    try {
      const cfg = join(t.dir, 'mac.json');
      writeFileSync(cfg, JSON.stringify({ hub: { url: 'http://nope', publicKey: 'x' } }));
      const r = await cli(['run', '--config', cfg]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /CONFIG_INVALID: .*"hub\.url" must be a ws:\/\/ or wss:\/\/ URL; got "http:\/\/nope"/);
      writeFileSync(cfg, JSON.stringify({ hub: { url: 'ws://127.0.0.1:1', publicKey: 'x' }, reader: { settleMs: -5 } }));
      assert.match((await cli(['run', '--config', cfg])).stderr, /"reader\.settleMs" must be a whole number ≥ 0/);
      writeFileSync(cfg, JSON.stringify({ hub: { url: 'ws://127.0.0.1:1', publicKey: 'x' }, tunnel: { interface: 'wg0; reboot' } }));
      assert.match((await cli(['run', '--config', cfg])).stderr, /"tunnel\.interface" must be an interface name/);
      writeFileSync(cfg, JSON.stringify({ hub: { url: 'ws://127.0.0.1:1', publicKey: 'x' }, typo: 1 }));
      assert.match((await cli(['run', '--config', cfg])).stderr, /"typo" must be one of the known keys/);
      const none = await cli(['run'], { IMESSAGE_RELAY_CONFIG: '' });
      assert.match(none.stderr, /CONFIG_MISSING: no config: pass --config <file> or set IMESSAGE_RELAY_CONFIG/);
      const hubCfg = join(t.dir, 'hub.json');
      writeFileSync(join(t.dir, 'token'), 'short', { mode: 0o644 });
      writeFileSync(hubCfg, JSON.stringify({ api: { tokenFile: join(t.dir, 'token') }, relays: [] }));
      assert.match((await cli(['hub', '--config', hubCfg])).stderr, /"api\.tokenFile" must be a file only its owner can read/);
    } finally { t.cleanup(); }
  });

  it('a port already taken fails at start with ADDRESS_IN_USE naming it; the process exits and the first hub keeps serving', async () => {
    const env = new RelayEnv();
    try {
      await env.prepare({ webhook: false });
      await env.startHub();
      const second = await cli(['hub', '--config', env.hubConfig]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`ADDRESS_IN_USE: link: 127\\.0\\.0\\.1:${env.hubPort} is already in use by another process`));
      const apiOnly = join(env.dir, 'hub-2.json');
      const cfg = JSON.parse(readFileSync(env.hubConfig, 'utf8')) as { listen: { port: number }; dataDir: string };
      writeFileSync(apiOnly, JSON.stringify({ ...cfg, listen: { port: await freePort() }, dataDir: join(env.dir, 'hub-2') }));
      const third = await cli(['hub', '--config', apiOnly]);
      assert.equal(third.code, 1, 'the link it had opened does not keep the process alive');
      assert.match(third.stderr, new RegExp(`ADDRESS_IN_USE: API: 127\\.0\\.0\\.1:${env.apiPort} is already in use`));
      const macCfg = join(env.dir, 'mac-2.json');
      const mc = JSON.parse(readFileSync(env.macConfig, 'utf8')) as { dataDir: string };
      writeFileSync(macCfg, JSON.stringify({ ...mc, dataDir: join(env.dir, 'mac-2'), health: { port: env.apiPort } }));
      const relay = await cli(['run', '--config', macCfg]);
      assert.equal(relay.code, 1);
      assert.match(relay.stderr, new RegExp(`ADDRESS_IN_USE: health: 127\\.0\\.0\\.1:${env.apiPort} is already in use`));
      assert.equal((await env.api('/v1/chats')).status, 200, 'the first hub still answers');
    } finally {
      await env.close();
    }
  });

  it('SIGTERM: both processes stop taking work, close the link and exit 0 within a few seconds', async () => {
    const env = new RelayEnv();
    try {
      await env.prepare();
      await env.startLinked();
      const t0 = Date.now();
      const mac = await env.mac!.stop();
      assert.deepEqual(mac, { code: 0, signal: null });
      const hub = await env.hub!.stop();
      assert.deepEqual(hub, { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
      await env.hub!.waitForLog(/^relay disconnected$/);
      assert.ok(env.mac!.lines.some((l) => l.msg === 'relay stopped'));
    } finally {
      await env.close();
    }
  });
});

describe('logs', () => {
  it('hold no message text and no full phone number by default; `logs` pretty-prints and filters by level', async () => {
    const env = new RelayEnv();
    try {
      await env.prepare({ macExtra: { log: { level: 'debug', file: join(env.dir, 'mac', 'logs', 'relay.log') } } });
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      await env.startHub();
      await env.startMac();
      env.writer.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('my secret pin is 4711') });
      await waitFor(() => env.receiver.received.length === 1, 'delivered');
      await env.mac!.waitForLog(/^event read$/);
      await env.mac!.stop();
      const logDir = join(env.dir, 'mac', 'logs');
      const files = readdirSync(logDir).filter((f) => f.endsWith('.log') && f !== 'current.log');
      assert.ok(files.length >= 1, 'a rolled log file exists');
      const all = files.map((f) => readFileSync(join(logDir, f), 'utf8')).join('') + env.mac!.stdout;
      assert.match(all, /"msg":"event read"/);
      assert.doesNotMatch(all, /4711|secret pin/);
      assert.doesNotMatch(all, /\+15555550123/);
      const pretty = await cli(['logs', '--dir', logDir]);
      assert.equal(pretty.code, 0, pretty.stderr);
      assert.match(pretty.stdout, /INFO \(relay\): relay started/);
      assert.match(pretty.stdout, /DEBUG \(relay\): event read/);
      const warnOnly = await cli(['logs', '--dir', logDir, '--level', 'warn']);
      assert.doesNotMatch(warnOnly.stdout, /relay started/);
    } finally {
      await env.close();
    }
  });
});
