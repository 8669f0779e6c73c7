// `imessage-relay doctor` on the Mac, each ✗ of the checks that look at this machine, with its exact
// message and fix: the config, the key file, chat.db (missing, and unreadable for another user),
// Messages through the fake osascript (Automation denied, not running, signed out, a prompt nobody
// answers), the clock against a hub whose Date is off, the tunnel through a fake wg, a nearly full
// disk, an outbox backing up in relay.db, and the launchd agent through a fake launchctl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DiskSpace } from '../../relay/doctor/disk-check.js';
import { MacStore } from '../../relay/store/mac-store.js';
import { tempDir } from '../support/chatdb-env.js';
import { doctorJson, fakeProgram } from '../support/doctor-run.js';
import { printCrashed, printRunning } from '../support/launchctl-env.js';
import { cliArgs } from '../support/processes.js';
import { RelayEnv } from '../support/relay-env.js';

const AUTOMATION_FIX = `allow ${process.execPath} to control Messages in System Settings → Privacy & Security → Automation (if it is not listed, run \`tccutil reset AppleEvents\` and answer the prompt the next send shows)`;

describe('doctor on the Mac: what this machine holds', () => {
  const env = new RelayEnv();
  let fake: NodeJS.ProcessEnv;
  before(async () => {
    await env.prepare();
    fake = { FAKE_MESSAGES_SCENARIO: env.scenarioFile };
  });
  after(() => env.close());

  /** A copy of the Mac config with some keys changed. */
  function variant(name: string, change: (c: Record<string, unknown>) => void): string {
    const c = JSON.parse(readFileSync(env.macConfig, 'utf8')) as Record<string, unknown>;
    change(c);
    const file = join(env.dir, name);
    writeFileSync(file, JSON.stringify(c));
    return file;
  }

  describe('config', () => {
    it('none given and none where init writes it: ✗ CONFIG_MISSING with how to make one; every other line skipped; exit 1', async () => {
      const t = tempDir();
      try {
        const d = await doctorJson([], {}, { cwd: t.dir, home: t.dir });
        assert.equal(d.code, 1);
        assert.deepEqual(d.line('config'), {
          name: 'config', status: 'fail', source: null,
          detail: 'CONFIG_MISSING: no config: pass --config <file> or set IMESSAGE_RELAY_CONFIG',
          fix: 'pass --config <file> (or set IMESSAGE_RELAY_CONFIG), or make one: imessage-relay init --mac --pair <line from init --hub>',
        });
        const rest = (JSON.parse(d.out) as Array<{ name: string; status: string; detail: string }>).slice(1);
        assert.equal(rest.length, 10);
        assert.ok(rest.every((r) => r.status === 'skip' && r.detail === 'needs a valid config'));
      } finally { t.cleanup(); }
    });

    it('without --config, the Mac config init wrote in ~/Library/Application Support/imessage-relay is the one checked', async () => {
      const t = tempDir();
      try {
        const dir = join(t.dir, 'Library', 'Application Support', 'imessage-relay');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'relay.json'), readFileSync(env.macConfig));
        const d = await doctorJson([], fake, { cwd: t.dir, home: t.dir });
        assert.equal(d.line('config').detail, `${join(dir, 'relay.json')} is a valid Mac config (hub ws://127.0.0.1:${env.hubPort})`);
      } finally { t.cleanup(); }
    });

    it('an unknown key: ✗ CONFIG_INVALID naming it', async () => {
      const file = variant('typo.json', (c) => { c['colour'] = 'red'; });
      const d = await doctorJson(['--config', file], fake);
      assert.equal(d.code, 1);
      const line = d.line('config');
      assert.equal(line.status, 'fail');
      assert.match(line.detail, new RegExp(`^CONFIG_INVALID: ${file}: "colour" must be one of the known keys \\(.*\\); unknown key; got "red"$`));
      assert.equal(line.fix, `correct that key in ${file} (README "Configuration" lists every key and its default), then run doctor again`);
    });
  });

  describe('key file', () => {
    it('readable by others (0644): ✗ KEY_PERMISSIONS, fix chmod 600; the hub is not dialled with it', async () => {
      const key = join(env.dir, 'keys', 'relay.key');
      chmodSync(key, 0o644);
      try {
        const d = await doctorJson(['--config', env.macConfig], fake);
        assert.equal(d.code, 1);
        assert.deepEqual(d.line('key file'), {
          name: 'key file', status: 'fail', source: null,
          detail: `KEY_PERMISSIONS: ${key} is readable by others (mode 644): run chmod 600 ${key}`, fix: `chmod 600 ${key}`,
        });
        assert.equal(d.line('hub link').detail, 'not dialled: the key file cannot be read (see "key file")');
      } finally { chmodSync(key, 0o600); }
    });

    it('missing: ✗ KEY_UNREADABLE, fix: restore it or make one and pin it again', async () => {
      const missing = join(env.dir, 'keys', 'gone.key');
      const d = await doctorJson(['--config', variant('no-key.json', (c) => { c['keyFile'] = missing; })], fake);
      const line = d.line('key file');
      assert.equal(line.status, 'fail');
      assert.match(line.detail, new RegExp(`^KEY_UNREADABLE: cannot read the key file ${missing}: ENOENT`));
      assert.equal(line.fix, `restore the key file from a backup, or make a new one (imessage-relay keygen --out ${missing}) and pin its public key on the other side again`);
    });
  });

  describe('chat.db', () => {
    it('not there: ✗ CHATDB_NOT_FOUND, the fix names the path and the binary for Full Disk Access', async () => {
      const d = await doctorJson(['--config', variant('no-chatdb.json', (c) => { c['chatDb'] = '/nonexistent/Messages/chat.db'; })], fake);
      const line = d.line('chat.db');
      assert.equal(line.status, 'fail');
      assert.match(line.detail, /^CHATDB_NOT_FOUND: chat\.db not found or not openable at \/nonexistent\/Messages\/chat\.db: /);
      assert.equal(line.fix, `check chatDb in the config (/nonexistent/Messages/chat.db); open Messages once and sign in so it creates chat.db; if the file is there, grant Full Disk Access to ${process.execPath} in System Settings → Privacy & Security → Full Disk Access`);
    });

    it('not readable by the user running doctor: ✗ CHATDB_NO_ACCESS naming the exact binary to grant Full Disk Access', { skip: process.getuid?.() !== 0 ? 'needs root to run doctor as another user' : false }, async () => {
      chmodSync(env.dir, 0o755);
      chmodSync(join(env.dir, 'Messages'), 0o755);
      chmodSync(env.writer.path, 0o600);
      chownSync(join(env.dir, 'keys'), 65534, 65534);
      chownSync(join(env.dir, 'keys', 'relay.key'), 65534, 65534);
      try {
        const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
          execFile(process.execPath, [...cliArgs(), 'doctor', '--config', env.macConfig], { uid: 65534, gid: 65534, encoding: 'utf8', env: { ...process.env, ...fake } },
            (err, stdout) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout }));
        });
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stdout, /^✓ key file — /m, 'the key is readable by its owner');
        assert.ok(r.stdout.includes(`✗ chat.db — CHATDB_NO_ACCESS: no permission to read ${env.writer.path}: grant Full Disk Access to the program that runs the relay (${process.execPath})`), r.stdout);
        assert.ok(r.stdout.includes(`\n    fix: grant Full Disk Access to ${process.execPath} in System Settings → Privacy & Security → Full Disk Access (+, then ⌘⇧G and paste that path), then restart the relay\n`), r.stdout);
      } finally {
        chownSync(join(env.dir, 'keys', 'relay.key'), 0, 0);
        chownSync(join(env.dir, 'keys'), 0, 0);
      }
    });
  });

  describe('Messages (the probe JXA through the fake osascript)', () => {
    it('Automation denied (−1743): ✗ naming the binary to allow', async () => {
      env.messages({ tcc: 'denied' });
      const d = await doctorJson(['--config', env.macConfig], fake);
      assert.equal(d.code, 1);
      assert.deepEqual(d.line('Messages'), {
        name: 'Messages', status: 'fail', source: null, fix: AUTOMATION_FIX,
        detail: 'Messages is running but refuses Apple events from this program (−1743): the Automation permission is denied',
      });
    });

    it('not running: ✗, open it', async () => {
      env.messages({ running: false });
      const d = await doctorJson(['--config', env.macConfig], fake);
      assert.deepEqual(d.line('Messages'), {
        name: 'Messages', status: 'fail', source: null,
        detail: 'Messages is not running (Automation and sign-in not checked)',
        fix: 'open Messages (`open -a Messages`) and leave it running, signed in; then run doctor again',
      });
    });

    it('signed out: ✗, sign in', async () => {
      env.messages({ signedOut: true });
      const d = await doctorJson(['--config', env.macConfig], fake);
      assert.deepEqual(d.line('Messages'), {
        name: 'Messages', status: 'fail', source: null,
        detail: 'Messages is running, Automation allowed, but no account is signed in (2 account(s), none connected)',
        fix: 'open Messages → Settings → iMessage and sign in with the Apple ID the relay answers as (and enable the account)',
      });
    });

    it('the Automation prompt unanswered (osascript blocks): ✗ after the deadline, answer the prompt', async () => {
      env.messages({ tcc: 'undetermined' });
      const d = await doctorJson(['--config', env.macConfig], fake, { osascriptTimeoutMs: 4000 });
      assert.deepEqual(d.line('Messages'), {
        name: 'Messages', status: 'fail', source: null,
        detail: 'osascript did not answer within 4000 ms (macOS may be waiting for someone to answer the Automation prompt)',
        fix: `on the Mac's screen, answer the prompt "… wants access to control Messages" with Allow; or ${AUTOMATION_FIX}`,
      });
      env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    });
  });

  describe('clock', () => {
    let server: Server;
    let offsetMs = 0;
    let port = 0;
    before(async () => {
      server = createServer((_req, res) => {
        res.sendDate = false;
        res.writeHead(426, { date: new Date(Date.now() + offsetMs).toUTCString() });
        res.end('Upgrade Required');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    for (const [offset, words] of [[300_000, 'ahead'], [-300_000, 'behind']] as const) {
      it(`a hub ${words} by 5 minutes: ✗ with the skew and how to turn on automatic time`, async () => {
        offsetMs = offset;
        const file = variant(`skew-${words}.json`, (c) => { (c['hub'] as Record<string, unknown>)['url'] = `ws://127.0.0.1:${port}`; });
        const d = await doctorJson(['--config', file], fake);
        const line = d.line('clock');
        assert.equal(line.status, 'fail');
        assert.match(line.detail, new RegExp(`^clocks differ: hub ${words} by (29\\d|30\\d)\\.\\d s \\(± \\d+\\.\\d s\\), more than 30 s$`));
        assert.equal(line.fix, 'turn on automatic time on both machines: on the Mac System Settings → General → Date & Time → Set time and date automatically (or `sudo sntp -sS time.apple.com`); on the hub `timedatectl set-ntp true`');
      });
    }
  });

  describe('tunnel (a fake wg as tunnel.command)', () => {
    const HUB_WG = 'HUBpeerKEYhubPEERkeyHUBpeerKEYhubPEERkey000=';
    const dump = (handshake: number): string => `cHJpdmF0ZQ==\tMACpublicKEYmacPUBLICkeyMACpublicKEYmac0000=\t51820\toff\n${HUB_WG}\t(none)\t198.51.100.7:51820\t10.8.0.1/32\t${handshake}\t1000\t2000\t25\n`;
    const withWg = (name: string, wg: string): string => variant(name, (c) => { c['tunnel'] = { interface: 'imr0', command: [wg] }; });
    const T = 1_800_000_000;

    it('the interface does not exist: ✗ TUNNEL_NO_INTERFACE, fix wg-quick up', async () => {
      const wg = fakeProgram(join(env.dir, 'wg-down'), '', 1, 'Unable to access interface: No such device\n');
      const d = await doctorJson(['--config', withWg('tunnel-down.json', wg)], fake);
      assert.deepEqual(d.line('tunnel'), {
        name: 'tunnel', status: 'fail', source: null,
        detail: 'TUNNEL_NO_INTERFACE: WireGuard interface imr0 does not exist (is the tunnel up?)', fix: 'bring the tunnel up: sudo wg-quick up imr0',
      });
    });

    it('a handshake older than tunnel.maxHandshakeAgeSeconds: ✗ TUNNEL_STALE with its age; a young one ✓', async () => {
      const stale = fakeProgram(join(env.dir, 'wg-stale'), dump(T - 600));
      const d = await doctorJson(['--config', withWg('tunnel-stale.json', stale)], fake, { now: () => T * 1000 });
      const line = d.line('tunnel');
      assert.equal(line.status, 'fail');
      assert.equal(line.detail, "TUNNEL_STALE: imr0's last handshake with 198.51.100.7:51820 was 600 s ago (limit 180 s)");
      assert.match(line.fix!, /^the other end does not answer: check that the peer's tunnel is up/);
      const fresh = fakeProgram(join(env.dir, 'wg-fresh'), dump(T - 5));
      const ok = await doctorJson(['--config', withWg('tunnel-fresh.json', fresh)], fake, { now: () => T * 1000 });
      assert.deepEqual(ok.line('tunnel'), { name: 'tunnel', status: 'ok', source: null, fix: null, detail: 'imr0 up, last handshake 5 s ago with 198.51.100.7:51820' });
    });

    it('wg not installed: ✗ TUNNEL_WG_MISSING, install wireguard-tools', async () => {
      const d = await doctorJson(['--config', withWg('tunnel-nowg.json', '/nonexistent/wg')], fake);
      const line = d.line('tunnel');
      assert.equal(line.detail, 'TUNNEL_WG_MISSING: /nonexistent/wg was not found: install wireguard-tools or set tunnel.command');
      assert.match(line.fix!, /^install wireguard-tools/);
    });
  });

  it('a nearly full disk: ✗ with each folder\'s free space', async () => {
    const asked: string[] = [];
    const statfs = async (p: string): Promise<DiskSpace> => { asked.push(p); return { bsize: 4096, blocks: 1_000_000, bavail: 100_000 }; };
    const d = await doctorJson(['--config', env.macConfig], fake, { statfs });
    const macDir = join(env.dir, 'mac');
    assert.deepEqual(asked, [macDir, join(macDir, 'logs')]);
    assert.deepEqual(d.line('disk space'), {
      name: 'disk space', status: 'fail', source: null,
      detail: `low on space: store ${macDir}: 0.4 GiB free (10.0 %); logs ${join(macDir, 'logs')}: 0.4 GiB free (10.0 %)`,
      fix: 'free space on that disk (at least 1.0 GiB and 5 %), or move dataDir / log.file to a larger one',
    });
    const big = async (): Promise<DiskSpace> => ({ bsize: 4096, blocks: 2 ** 28, bavail: 2 ** 28 * 0.03 });
    assert.match((await doctorJson(['--config', env.macConfig], fake, { statfs: big })).line('disk space').detail, /^low on space: store .*: 30\.7 GiB free \(3\.0 %\)/, 'under 5 % fails even with GiBs left');
  });

  it('an outbox backing up in relay.db (the daemon stopped): ✗ with its depth and age against the limits', async () => {
    const T = 1_800_000_000_000;
    const store = new MacStore(join(env.dir, 'mac', 'relay.db'), () => T - 3_600_000);
    store.enqueueWithCursor([1, 2].map((n) => ({ type: 'event' as const, id: `message:G${n}`, body: { kind: 'message', guid: `G${n}` } })), 'chatdb', '{}');
    store.close();
    const d = await doctorJson(['--config', env.macConfig], fake, { now: () => T });
    assert.deepEqual(d.line('outbox'), {
      name: 'outbox', status: 'fail', source: 'relay.db',
      detail: 'backing up: 2 waiting, oldest 3600 s, 0 dead letter(s) (limits 1000 items, 120 s)',
      fix: `start the relay (imessage-relay run --config ${env.macConfig}) or its launchd agent; the outbox drains once the hub link is up: fix "hub link" (and "tunnel") first`,
    });
  });

  describe('launchd agent (a fake launchctl)', () => {
    it('not on a Mac: skipped, not failed', async () => {
      const d = await doctorJson(['--config', env.macConfig], fake, { platform: 'linux' });
      assert.deepEqual(d.line('launchd agent'), { name: 'launchd agent', status: 'skip', source: null, fix: null, detail: 'launchd is macOS only (this is linux)' });
    });

    it('not loaded: ✗ with the install command; running: ✓ with its pid; stopped or crash-looping: ✗ with the last exit and what to do', async () => {
      const missing = fakeProgram(join(env.dir, 'launchctl-missing'), '', 113, 'Could not find service "com.imessage-relay" in domain for port\n');
      const d = await doctorJson(['--config', env.macConfig], fake, { platform: 'darwin', uid: 501, launchctl: missing });
      assert.deepEqual(d.line('launchd agent'), {
        name: 'launchd agent', status: 'fail', source: null,
        detail: 'gui/501/com.imessage-relay is not loaded (launchctl print exit 113: Could not find service "com.imessage-relay" in domain for port)',
        fix: `install and load it: imessage-relay install --config ${env.macConfig} (or launchctl bootstrap gui/501 ~/Library/LaunchAgents/com.imessage-relay.plist)`,
      });
      const printing = (file: string, text: string): string => {
        const path = join(env.dir, file);
        writeFileSync(join(env.dir, `${file}.out`), text);
        writeFileSync(path, `#!/bin/sh\n[ "$1 $2" = "print gui/501/com.imessage-relay" ] || exit 64\ncat '${join(env.dir, `${file}.out`)}'\n`);
        chmodSync(path, 0o755);
        return path;
      };
      const ok = await doctorJson(['--config', env.macConfig], fake, { platform: 'darwin', uid: 501, launchctl: printing('launchctl-running', printRunning(4242)) });
      assert.deepEqual(ok.line('launchd agent'), { name: 'launchd agent', status: 'ok', source: null, fix: null, detail: 'gui/501/com.imessage-relay is running (pid 4242)' });
      const crashing = await doctorJson(['--config', env.macConfig], fake, { platform: 'darwin', uid: 501, launchctl: printing('launchctl-crashed', printCrashed('78: EX_CONFIG')) });
      assert.deepEqual(crashing.line('launchd agent'), {
        name: 'launchd agent', status: 'fail', source: null,
        detail: 'gui/501/com.imessage-relay is loaded but its daemon is not running: it exited with 78: EX_CONFIG, 4 runs (launchd restarts it after each crash)',
        fix: `read why it exits: imessage-relay logs --config ${env.macConfig}; fix that, then imessage-relay restart`,
      });
      const killed = await doctorJson(['--config', env.macConfig], fake, { platform: 'darwin', uid: 501, launchctl: printing('launchctl-killed', printCrashed('Killed: 9').replace('\tlast exit code = Killed: 9', '\tlast terminating signal = Killed: 9')) });
      assert.equal(killed.line('launchd agent').status, 'fail', 'a daemon killed by a signal is not running');
      assert.match(killed.line('launchd agent').detail ?? '', /exited with Killed: 9/);
      const stopped = await doctorJson(['--config', env.macConfig], fake, { platform: 'darwin', uid: 501, launchctl: printing('launchctl-stopped', printCrashed('0')) });
      assert.deepEqual(stopped.line('launchd agent'), {
        name: 'launchd agent', status: 'fail', source: null,
        detail: 'gui/501/com.imessage-relay is loaded but its daemon is not running (state = not running, last exit 0, 4 runs)',
        fix: 'start it: imessage-relay restart',
      });
    });
  });
});
