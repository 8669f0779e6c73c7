// `imessage-relay init` as an admin meets it: hub init, Mac init with the hub's line, the Mac's line
// added on the hub, then `hub` and `run` started from those files alone link up and carry a message;
// a second run changes nothing; a damaged pairing line is refused with a code and writes nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseHubConfig } from '../../relay/config/hub-config.js';
import { decodePairing } from '../../relay/config/pairing.js';
import { ConfigNode } from '../../relay/config/validate.js';
import { RelayError } from '../../relay/errors.js';
import { main } from '../../relay/cli.js';
import type { CliIo } from '../../relay/cli/io.js';
import { makeMessagesDb, tempDir } from '../support/chatdb-env.js';
import { CliProcess, freePort, runCli } from '../support/processes.js';
import { hubFetch } from '../support/openapi-contract.js';

const json = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
const mode = (file: string): number => statSync(file).mode & 0o777;
/** IMESSAGE_RELAY_CONFIG of the test's own environment must not steer init. */
const NO_ENV_CONFIG = { IMESSAGE_RELAY_CONFIG: '' };

interface HubInit { config: string; keyFile: string; tokenFile: string; publicKey: string; fingerprint: string; url: string; pairing: string; next: string }
interface MacInit { config: string; keyFile: string; publicKey: string; hubFingerprint: string; pairing: string; next: string }

/** A pairing line made by hand (not by the code under test): imr1: + base64url(JSON ‖ first 4 bytes of its SHA-256). */
function handLine(body: unknown, version = 1): string {
  const payload = Buffer.from(JSON.stringify(body));
  return `imr${version}:${Buffer.concat([payload, createHash('sha256').update(payload).digest().subarray(0, 4)]).toString('base64url')}`;
}

function captureIo(): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; }, logDestination: process.stderr, onInterrupt: () => undefined, offInterrupt: () => undefined };
  return io as never;
}

describe('imessage-relay init', () => {
  it('hub init → Mac init with its line → the Mac\'s line added on the hub: `hub` and `run` start from those files alone, link up and carry a message', async () => {
    const t = tempDir('imr-init-');
    const home = join(t.dir, 'home');
    const hubDir = join(t.dir, 'hub');
    mkdirSync(hubDir);
    mkdirSync(home);
    // The Mac's chat.db where Messages keeps it: ~/Library/Messages/chat.db of this test's HOME.
    const writer = makeMessagesDb(join(home, 'Library'), 'minimal');
    let hub: CliProcess | null = null;
    let mac: CliProcess | null = null;
    try {
      const [link, api, health] = [await freePort(), await freePort(), await freePort()];
      const h = await runCli(['init', '--hub', '--account', 'alice', '--link', `127.0.0.1:${link}`, '--api', `127.0.0.1:${api}`, '--json'], { cwd: hubDir, env: NO_ENV_CONFIG });
      assert.equal(h.code, 0, h.stderr);
      const hi = JSON.parse(h.stdout) as HubInit;
      assert.equal(hi.config, join(hubDir, 'hub.json'), 'hub.json in the current folder by default');
      assert.deepEqual(json(hi.config), { listen: { port: link }, api: { port: api, tokenFile: 'hub-data/api.token' }, relays: [] }, 'only what differs from the defaults');
      assert.deepEqual([mode(hi.config), mode(hi.keyFile), mode(hi.tokenFile)], [0o600, 0o600, 0o600]);
      assert.equal(hi.keyFile, join(hubDir, 'hub-data', 'hub.key'));
      assert.ok(readFileSync(hi.tokenFile, 'utf8').trim().length >= 32);
      assert.equal(hi.url, `ws://127.0.0.1:${link}`);
      assert.equal(hi.next, `imessage-relay init --mac --pair ${hi.pairing}`);
      assert.match(readFileSync(`${hi.config}.README`, 'utf8'), /"listen" +where the link server listens/);

      const m = await runCli(['init', '--mac', '--pair', hi.pairing, '--health', `127.0.0.1:${health}`, '--json'], { env: { ...NO_ENV_CONFIG, HOME: home } });
      assert.equal(m.code, 0, m.stderr);
      const mi = JSON.parse(m.stdout) as MacInit;
      const macDir = join(home, 'Library', 'Application Support', 'imessage-relay');
      assert.equal(mi.config, join(macDir, 'relay.json'));
      assert.equal(mi.keyFile, join(macDir, 'relay.key'), 'the key where `run` looks by default');
      assert.deepEqual(json(mi.config), { hub: { url: `ws://127.0.0.1:${link}`, publicKey: hi.publicKey }, health: { port: health } });
      assert.deepEqual([mode(mi.config), mode(mi.keyFile)], [0o600, 0o600]);
      assert.equal(mi.hubFingerprint, hi.fingerprint, 'the Mac shows the fingerprint the hub printed');
      assert.equal(mi.next, `imessage-relay init --hub --add-relay ${mi.pairing}`);

      const a = await runCli(['init', '--hub', '--add-relay', mi.pairing, '--json'], { cwd: hubDir, env: NO_ENV_CONFIG });
      assert.equal(a.code, 0, a.stderr);
      assert.equal((JSON.parse(a.stdout) as { added: boolean }).added, true);
      assert.deepEqual((json(hi.config) as { relays: unknown }).relays, [{ account: 'alice', publicKey: mi.publicKey }]);
      assert.equal(mode(hi.config), 0o600, 'the rewritten config keeps its mode');

      hub = new CliProcess(['hub', '--config', hi.config], NO_ENV_CONFIG);
      await hub.waitForLog(/^hub started$/);
      mac = new CliProcess(['run', '--config', mi.config], { ...NO_ENV_CONFIG, HOME: home });
      await mac.waitForLog(/^link up$/, 30_000);
      const token = readFileSync(hi.tokenFile, 'utf8').trim();
      const apiGet = (path: string): Promise<Response> => hubFetch(`http://127.0.0.1:${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const report = await (await apiGet('/health')).json() as { components: { relays: { state: string; connected: string[] } } };
      assert.equal(report.components.relays.state, 'ok');
      assert.deepEqual(report.components.relays.connected, ['alice']);

      writer.chat({ guid: 'iMessage;-;+15555550123', identifier: '+15555550123', participants: ['+15555550123'] });
      const row = writer.insert({ chat: 'iMessage;-;+15555550123', handle: '+15555550123', text: 'hello from a fresh install' });
      const until = Date.now() + 30_000;
      let got: Array<{ account: string; event: { guid: string } }> = [];
      while (got.length === 0 && Date.now() < until) {
        got = ((await (await apiGet('/v1/events?after=0&wait=10')).json()) as { events: typeof got }).events;
      }
      assert.deepEqual(got.map((e) => [e.account, e.event.guid]), [['alice', row.guid]]);
    } finally {
      await Promise.all([mac?.stop(), hub?.stop()]);
      writer.close();
      t.cleanup();
    }
  });

  it('running it again changes nothing and says what exists and how to start over; adding the same Mac twice is a no-op, another key for the account is refused', async () => {
    const t = tempDir('imr-init-');
    try {
      const hubDir = join(t.dir, 'hub');
      const hubJson = join(hubDir, 'hub.json');
      const h = await runCli(['init', '--hub', '--account', 'alice', '--config', hubJson], { env: NO_ENV_CONFIG });
      assert.equal(h.code, 0, h.stderr);
      // Without --link: the hub's WireGuard address that `tunnel config` gives it; the API on its default.
      assert.deepEqual(json(hubJson), { listen: { host: '10.8.0.1' }, api: { tokenFile: 'hub-data/api.token' }, relays: [] });
      const line = /^ {2}imessage-relay init --mac --pair (imr1:[A-Za-z0-9_-]+)$/m.exec(h.stdout)?.[1];
      assert.ok(line !== undefined, `the line to run on the Mac is printed on its own:\n${h.stdout}`);
      assert.equal(decodePairing(line, 'hub').url, 'ws://10.8.0.1:7443');
      assert.match(h.stdout, new RegExp(`wrote ${hubDir}/hub-data/api\\.token \\(mode 0600\\): the assistant's bearer token for the API on 127\\.0\\.0\\.1:7480`));
      // What init left out is what the hub reads by default; the key is where it will look.
      const parsed = parseHubConfig(ConfigNode.root({ ...(json(hubJson) as object), relays: [{ account: 'alice', publicKey: decodePairing(line, 'hub').key }] }, hubJson), hubJson, {});
      assert.deepEqual([parsed.listen, parsed.api.host, parsed.api.port, parsed.keyFile], [{ host: '10.8.0.1', port: 7443 }, '127.0.0.1', 7480, join(hubDir, 'hub-data', 'hub.key')]);

      const files = [hubJson, join(hubDir, 'hub-data', 'hub.key'), join(hubDir, 'hub-data', 'api.token')];
      const before = files.map((f) => readFileSync(f));
      const again = await runCli(['init', '--hub', '--account', 'bob', '--link', '127.0.0.1:9', '--config', hubJson], { env: NO_ENV_CONFIG });
      assert.equal(again.code, 1);
      assert.equal(again.stdout, '');
      assert.match(again.stderr, /^error INIT_EXISTS: init --hub: nothing was changed, because (\S+), (\S+), (\S+) already exist\. To start over, remove them \(rm \S+ \S+ \S+\) and run this again; .*init --hub --invite <account>/);
      assert.deepEqual(/because (\S+), (\S+), (\S+) already/.exec(again.stderr)!.slice(1), files);
      assert.deepEqual(files.map((f) => readFileSync(f)), before, 'not a byte changed');
      rmSync(hubJson);
      const partial = await runCli(['init', '--hub', '--account', 'alice', '--config', hubJson], { env: NO_ENV_CONFIG });
      assert.match(partial.stderr, new RegExp(`INIT_EXISTS: .*because ${files[1]}, ${files[2]} already exist`), 'a half-done set-up still keeps its key');
      assert.equal(existsSync(hubJson), false);

      const home = join(t.dir, 'home');
      const macJson = join(t.dir, 'mac', 'relay.json');
      const macArgs = ['init', '--mac', '--pair', line, '--config', macJson, '--data-dir', join(t.dir, 'mac'), '--chat-db', join(t.dir, 'chat.db'), '--json'];
      const m = await runCli(macArgs, { env: { ...NO_ENV_CONFIG, HOME: home } });
      assert.equal(m.code, 0, m.stderr);
      const mi = JSON.parse(m.stdout) as MacInit;
      assert.deepEqual(json(macJson), { chatDb: join(t.dir, 'chat.db'), dataDir: join(t.dir, 'mac'), hub: { url: 'ws://10.8.0.1:7443', publicKey: decodePairing(line, 'hub').key } });
      const macBefore = [readFileSync(macJson), readFileSync(mi.keyFile)];
      const macAgain = await runCli(macArgs, { env: { ...NO_ENV_CONFIG, HOME: home } });
      assert.equal(macAgain.code, 1);
      assert.match(macAgain.stderr, new RegExp(`^error INIT_EXISTS: init --mac: nothing was changed, because ${macJson}, ${mi.keyFile} already exist\\. To start over`));
      assert.deepEqual([readFileSync(macJson), readFileSync(mi.keyFile)], macBefore);
      assert.equal(existsSync(home), false, 'nothing written under HOME when every path was given');

      // The hub's config back (as init wrote it), then the Mac added twice, then another Mac for "alice".
      const restored = join(t.dir, 'hub2.json');
      assert.equal((await runCli(['init', '--hub', '--account', 'alice', '--config', restored], { env: NO_ENV_CONFIG })).code, 0);
      const add = (l: string): Promise<{ code: number; stdout: string; stderr: string }> => runCli(['init', '--hub', '--add-relay', l, '--config', restored], { env: NO_ENV_CONFIG });
      const first = await add(mi.pairing);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^added relay "alice" \(fingerprint [0-9a-f:]{19}, as init printed on the Mac\)/);
      const once = readFileSync(restored);
      const second = await add(mi.pairing);
      assert.equal(second.code, 0);
      assert.match(second.stdout, /already in .*nothing changed/);
      assert.deepEqual(readFileSync(restored), once);
      const other = await add(handLine({ k: 'relay', key: Buffer.alloc(32, 7).toString('base64'), account: 'alice' }));
      assert.equal(other.code, 1);
      assert.match(other.stderr, /error INIT_PEER_EXISTS: .*account "alice" already has a relay with another key/);
      assert.deepEqual(readFileSync(restored), once);
    } finally { t.cleanup(); }
  });

  it('a pairing line with a typo, cut short, of another version, or meant for the other command is refused with a code, and nothing is written', async () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    const good = handLine({ k: 'hub', key, url: 'ws://10.8.0.1:7443', account: 'alice' });
    assert.deepEqual(decodePairing(good, 'hub'), { key, url: 'ws://10.8.0.1:7443', account: 'alice' });
    assert.deepEqual(decodePairing(`  ${good.slice(0, 40)}\n  ${good.slice(40)}\n`, 'hub').key, key, 'a line wrapped by the terminal is still read');
    const at = 30;
    const typo = good.slice(0, at) + (good[at] === 'A' ? 'B' : 'A') + good.slice(at + 1);
    const code = (line: string, kind: 'hub' | 'relay' = 'hub'): string => {
      try {
        decodePairing(line, kind);
        return 'accepted';
      } catch (err) {
        assert.ok(err instanceof RelayError);
        return err.code;
      }
    };
    assert.equal(code(typo), 'PAIRING_CHECKSUM');
    assert.equal(code(good.slice(0, -3)), 'PAIRING_CHECKSUM');
    assert.equal(code(`${good}x`), 'PAIRING_CHECKSUM');
    assert.equal(code(good.replace('imr1:', 'imr2:')), 'PAIRING_VERSION');
    assert.equal(code('ssh-ed25519 AAAA'), 'PAIRING_INVALID');
    assert.equal(code(handLine({ k: 'hub', key: 'c2hvcnQ=', url: 'ws://h:1', account: 'a' })), 'PAIRING_INVALID', 'a key that is not 32 bytes');
    assert.equal(code(handLine({ k: 'hub', key, url: 'ws://h:1' })), 'PAIRING_INVALID', 'a field missing');
    assert.equal(code(handLine({ k: 'hub', key, url: 'ws://h:1', account: 'a', extra: 'x' })), 'PAIRING_INVALID', 'a field unknown');
    assert.equal(code(good, 'relay'), 'PAIRING_WRONG_SIDE');

    const t = tempDir('imr-init-');
    try {
      const run = (line: string): Promise<{ code: number; stdout: string; stderr: string }> =>
        runCli(['init', '--mac', '--pair', line], { env: { ...NO_ENV_CONFIG, HOME: t.dir } });
      const bad = await run(typo);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^error PAIRING_CHECKSUM: the pairing line does not match its checksum \(a character changed or lost\): copy the whole line again/);
      const wrong = await run(handLine({ k: 'relay', key, account: 'alice' }));
      assert.match(wrong.stderr, /^error PAIRING_WRONG_SIDE: this is not the line this command takes: it is meant for imessage-relay init --hub --add-relay <line> \(on the hub\)/);
      const badUrl = await run(handLine({ k: 'hub', key, url: 'http://10.8.0.1:7443', account: 'alice' }));
      assert.match(badUrl.stderr, /^error PAIRING_INVALID: .*"http:\/\/10\.8\.0\.1:7443" is not a ws:\/\/ or wss:\/\/ URL/);
      assert.deepEqual(readdirSync(t.dir), [], 'nothing written');
    } finally { t.cleanup(); }
  });

  it('refuses a command line that cannot work, before writing anything', async () => {
    const t = tempDir('imr-init-');
    try {
      const cfg = ['--config', join(t.dir, 'hub.json')];
      const cases: Array<[string[], RegExp]> = [
        [['init'], /say which end this is: --hub \(the cloud machine\) or --mac/],
        [['init', '--hub', '--account', 'a', '--link', '0.0.0.0:7443', ...cfg], /listens on 0\.0\.0\.0:7443, every address, which a Mac cannot dial: add --url/],
        [['init', '--hub', '--account', 'a', '--url', 'http://x', ...cfg], /--url "http:\/\/x" is not a ws:\/\/ or wss:\/\/ URL/],
        [['init', '--hub', '--account', 'a b', ...cfg], /--account "a b": letters, digits/],
        [['init', '--mac'], /init --mac needs --pair <line>: run "imessage-relay init --hub --account <name>" on the hub first/],
        [['init', '--mac', '--pair', 'x', '--account', 'a'], /--account is not an option of init --mac/],
        [['init', '--hub', '--account', 'a', '--add-relay', 'x', ...cfg], /init --hub takes one of --account/],
        [['init', '--hub', '--add-relay', 'x', '--link', '127.0.0.1:1', ...cfg], /--link goes with init --hub --account \(a new hub\), not with --add-relay/],
      ];
      for (const [argv, why] of cases) {
        const io = captureIo();
        assert.equal(await main(argv, io), 2, argv.join(' '));
        assert.match(io.err, why);
      }
      const io = captureIo();
      assert.equal(await main(['init', '--hub', '--account', 'a', '--link', '0.0.0.0:7443', '--url', 'wss://hub.example:443/link', ...cfg, '--json'], io), 0, io.err);
      assert.equal(decodePairing((JSON.parse(io.out) as { pairing: string }).pairing, 'hub').url, 'wss://hub.example:443/link');
    } finally { t.cleanup(); }
  });
});
