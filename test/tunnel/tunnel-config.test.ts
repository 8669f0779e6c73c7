// `imessage-relay tunnel config`: the hub's and the Mac's wg-quick files made through the CLI (hub,
// Mac with the hub's line, hub with the Mac's line), read back here with a reader of our own and
// checked against `wg pubkey`; and, where root and wireguard-go allow, brought up in two network
// namespaces until TCP passes to the hub's link address. wg missing: those tests skip and say so.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMacConfig } from '../../relay/config/mac-config.js';
import { ConfigNode } from '../../relay/config/validate.js';
import { wgSetEndpoint } from '../../relay/tunnel/wg.js';
import { tempDir } from '../support/chatdb-env.js';
import { runCli } from '../support/processes.js';
import { WireGuardPair, has, wireguardMissing } from '../support/wireguard.js';

const noWg = has('wg') ? null : 'skipped: wg is not installed (apt-get install wireguard-tools; .ci/run does)';

/** A wg-quick file read by a reader of the test's own: [Interface] and [Peer] sections of key = value. */
function readConf(file: string): { iface: Record<string, string>; peers: Array<Record<string, string>> } {
  const sections: Array<{ name: string; kv: Record<string, string> }> = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head !== null) { sections.push({ name: head[1]!, kv: {} }); continue; }
    const [k, ...v] = line.split('=');
    sections.at(-1)!.kv[k!.trim()] = v.join('=').trim();
  }
  assert.equal(sections.filter((s) => s.name === 'Interface').length, 1);
  return { iface: sections.find((s) => s.name === 'Interface')!.kv, peers: sections.filter((s) => s.name === 'Peer').map((s) => s.kv) };
}

const wgPubkey = (privateKey: string): string => execFileSync('wg', ['pubkey'], { input: `${privateKey}\n`, encoding: 'utf8' }).trim();
const mode = (file: string): number => statSync(file).mode & 0o777;

interface Side { file: string; publicKey: string; pairing: string; next: string; relayTunnel?: Record<string, unknown>; sudoers?: string }

/** The three runs an admin makes: the hub's end, the Mac's end with the hub's line, the Mac added on the hub. */
async function pairUp(dir: string, endpoint: string): Promise<{ hub: Side; mac: Side; hubConf: string; macConf: string }> {
  const hubConf = join(dir, 'hub', 'imr0.conf');
  const macConf = join(dir, 'mac', 'imr0.conf');
  const h = await runCli(['tunnel', 'config', '--hub', '--endpoint', endpoint, '--out', hubConf, '--json']);
  assert.equal(h.code, 0, h.stderr);
  const hub = JSON.parse(h.stdout) as Side;
  // The Mac's file lands in the folder the command runs in by default.
  const m = await runCli(['tunnel', 'config', '--mac', '--pair', hub.pairing, '--json'], { cwd: join(dir, 'mac') });
  assert.equal(m.code, 0, m.stderr);
  const mac = JSON.parse(m.stdout) as Side;
  assert.equal(mac.file, macConf);
  const a = await runCli(['tunnel', 'config', '--hub', '--add-peer', mac.pairing, '--out', hubConf]);
  assert.equal(a.code, 0, a.stderr);
  return { hub, mac, hubConf, macConf };
}

describe('tunnel config', () => {
  it('hub → Mac → hub: matching wg-quick files (0600), each end\'s key from wg genkey, its public half in the other end\'s [Peer]', { skip: noWg ?? false }, async () => {
    const t = tempDir('imr-wgconf-');
    try {
      mkdirSync(join(t.dir, 'mac'));
      const { hub, mac, hubConf, macConf } = await pairUp(t.dir, 'hub.example.net');
      assert.equal(hub.next, `imessage-relay tunnel config --mac --pair ${hub.pairing}`);
      assert.equal(mac.next, `imessage-relay tunnel config --hub --add-peer ${mac.pairing}`);
      assert.deepEqual([mode(hubConf), mode(macConf)], [0o600, 0o600]);
      const h = readConf(hubConf);
      const m = readConf(macConf);
      assert.deepEqual({ ...h.iface, PrivateKey: '…' }, { PrivateKey: '…', Address: '10.8.0.1/24', ListenPort: '51820' });
      assert.deepEqual({ ...m.iface, PrivateKey: '…' }, { PrivateKey: '…', Address: '10.8.0.2/32' });
      assert.equal(wgPubkey(h.iface['PrivateKey']!), hub.publicKey);
      assert.equal(wgPubkey(m.iface['PrivateKey']!), mac.publicKey);
      assert.notEqual(h.iface['PrivateKey'], m.iface['PrivateKey']);
      assert.deepEqual(m.peers, [{ PublicKey: wgPubkey(h.iface['PrivateKey']!), Endpoint: 'hub.example.net:51820', AllowedIPs: '10.8.0.1/32', PersistentKeepalive: '25' }]);
      assert.deepEqual(h.peers, [{ PublicKey: wgPubkey(m.iface['PrivateKey']!), AllowedIPs: '10.8.0.2/32' }]);
      assert.equal(readFileSync(hubConf, 'utf8').includes(m.iface['PrivateKey']!), false, 'no private key crosses');
      // The relay's tunnel section it prints is one the Mac config accepts, and heals this very tunnel.
      const cfg = parseMacConfig(ConfigNode.root({ hub: { url: 'ws://10.8.0.1:7443', publicKey: 'A'.repeat(43) + '=' }, tunnel: mac.relayTunnel }, 'relay.json'), 'relay.json');
      assert.deepEqual([cfg.tunnel?.interface, cfg.tunnel?.peer, cfg.tunnel?.endpoint], ['imr0', hub.publicKey, 'hub.example.net:51820']);
      assert.deepEqual(cfg.tunnel?.restartCommand, [['sudo', '-n', '/opt/homebrew/bin/wg-quick', 'down', 'imr0'], ['sudo', '-n', '/opt/homebrew/bin/wg-quick', 'up', 'imr0']]);
      // The sudoers rule allows exactly the argv the watchdog runs through tunnel.command, and the restart.
      const allowed = mac.sudoers!.replace(/^<user> ALL=\(root\) NOPASSWD: /, '').split(', ').map((c) => c.replace(/\\(.)/g, '$1'));
      assert.deepEqual(allowed, [
        '/opt/homebrew/bin/wg show imr0 dump', `/opt/homebrew/bin/wg set imr0 peer ${hub.publicKey} endpoint *`,
        '/opt/homebrew/bin/wg-quick down imr0', '/opt/homebrew/bin/wg-quick up imr0',
      ]);
      // What the relay really runs through sudo -n (the endpoint move, then the restart) is covered by a rule.
      const permitted = (argv: readonly string[]): boolean => allowed.some((rule) =>
        new RegExp(`^${rule.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`).test(argv.join(' ')));
      const ran: string[][] = [];
      await wgSetEndpoint(cfg.tunnel!.command, async (file, args) => {
        ran.push([file, ...args]);
        return { exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 0 };
      })('imr0', hub.publicKey, '203.0.113.9:51820');
      for (const argv of [...ran, ...cfg.tunnel!.restartCommand!]) {
        assert.deepEqual(argv.slice(0, 2), ['sudo', '-n']);
        assert.ok(permitted(argv.slice(2)), `sudoers allows ${argv.slice(2).join(' ')}`);
      }
      assert.equal(permitted(['/opt/homebrew/bin/wg', 'set', 'imr0', 'private-key', '/tmp/k']), false, 'and nothing wider');
      if (has('wg-quick')) {
        for (const f of [hubConf, macConf]) {
          const stripped = execFileSync('wg-quick', ['strip', f], { encoding: 'utf8' });
          assert.match(stripped, /^\[Interface\]\nPrivateKey = /m);
          assert.doesNotMatch(stripped, /Address/);
        }
      }
    } finally { t.cleanup(); }
  });

  it('never overwrites; adding the same Mac twice changes nothing; a second Mac needs its own address', { skip: noWg ?? false }, async () => {
    const t = tempDir('imr-wgconf-');
    try {
      mkdirSync(join(t.dir, 'mac'));
      const { hub, mac, hubConf, macConf } = await pairUp(t.dir, '[2001:db8::1]:4500');
      assert.equal(readConf(macConf).peers[0]!['Endpoint'], '[2001:db8::1]:4500');
      const before = [readFileSync(hubConf), readFileSync(macConf)];
      const again = await runCli(['tunnel', 'config', '--hub', '--endpoint', 'other', '--out', hubConf]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`^error INIT_EXISTS: tunnel config --hub: nothing was changed, because ${hubConf} already exists\\. To start over, remove it`));
      const macAgain = await runCli(['tunnel', 'config', '--mac', '--pair', hub.pairing], { cwd: join(t.dir, 'mac') });
      assert.match(macAgain.stderr, /^error INIT_EXISTS: tunnel config --mac: nothing was changed/);
      const twice = await runCli(['tunnel', 'config', '--hub', '--add-peer', mac.pairing, '--out', hubConf]);
      assert.equal(twice.code, 0, twice.stderr);
      assert.match(twice.stdout, /already a peer .*nothing changed/);
      assert.deepEqual([readFileSync(hubConf), readFileSync(macConf)], before);

      const second = join(t.dir, 'mac2.conf');
      const m2 = await runCli(['tunnel', 'config', '--mac', '--pair', hub.pairing, '--out', second, '--json']);
      const clash = await runCli(['tunnel', 'config', '--hub', '--add-peer', (JSON.parse(m2.stdout) as Side).pairing, '--out', hubConf]);
      assert.equal(clash.code, 1);
      assert.match(clash.stderr, /^error INIT_PEER_EXISTS: .*10\.8\.0\.2\/32 is already routed to another peer; on the Mac, remove its file and run tunnel config --mac again with --address/);
      assert.deepEqual(readFileSync(hubConf), before[0]);
      const third = join(t.dir, 'mac3.conf');
      const m3 = JSON.parse((await runCli(['tunnel', 'config', '--mac', '--pair', hub.pairing, '--address', '10.8.0.3/32', '--out', third, '--json'])).stdout) as Side;
      assert.equal((await runCli(['tunnel', 'config', '--hub', '--add-peer', m3.pairing, '--out', hubConf])).code, 0);
      assert.deepEqual(readConf(hubConf).peers.map((p) => [p['PublicKey'], p['AllowedIPs']]), [[mac.publicKey, '10.8.0.2/32'], [m3.publicKey, '10.8.0.3/32']]);
    } finally { t.cleanup(); }
  });

  it('without wg, or with a line meant elsewhere, it stops with a coded error and writes nothing', async () => {
    const t = tempDir('imr-wgconf-');
    try {
      const out = join(t.dir, 'imr0.conf');
      const missing = await runCli(['tunnel', 'config', '--hub', '--endpoint', 'hub.example.net', '--out', out, '--wg', '/nonexistent/wg']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^error TUNNEL_WG_MISSING: \/nonexistent\/wg was not found: install wireguard-tools/);
      const initLine = 'imr1:' + Buffer.from('{"k":"hub"}').toString('base64url');
      const damaged = await runCli(['tunnel', 'config', '--mac', '--pair', initLine, '--out', out]);
      assert.match(damaged.stderr, /^error PAIRING_CHECKSUM: /);
      const badName = await runCli(['tunnel', 'config', '--hub', '--endpoint', 'h', '--out', join(t.dir, 'a-name-far-too-long.conf')]);
      assert.equal(badName.code, 2);
      assert.match(badName.stderr, /wg-quick names the interface after the file/);
      assert.deepEqual(readdirSync(t.dir), []);
    } finally { t.cleanup(); }
  });

  const noTunnel = noWg ?? wireguardMissing() ?? (has('wg-quick') ? null : 'wg-quick is not installed (apt-get install wireguard-tools)');
  it('the two files bring a real tunnel up (wireguard-go in two network namespaces): TCP reaches the hub at 10.8.0.1:7443', { skip: noTunnel === null ? false : `skipped: ${noTunnel.replace(/^skipped: /, '')}` }, async () => {
    const t = tempDir('imr-wgconf-');
    const wg = new WireGuardPair(t.dir);
    const children: Array<ReturnType<typeof spawn>> = [];
    try {
      mkdirSync(join(t.dir, 'mac'));
      const { hubConf, macConf } = await pairUp(t.dir, wg.b.addr); // b is the hub's end: its veth address is the endpoint
      await wg.startFromWgQuick(wg.b, hubConf);
      await wg.startFromWgQuick(wg.a, macConf);
      const server = spawn('ip', ['netns', 'exec', wg.b.ns, process.execPath, '-e',
        "require('net').createServer((s) => s.end('pong')).listen(7443, '10.8.0.1', () => console.log('listening'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(server);
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
        server.once('exit', (code) => reject(new Error(`the server in the hub's namespace exited (${code})`)));
      });
      const reply = execFileSync('ip', ['netns', 'exec', wg.a.ns, process.execPath, '-e',
        "const c = require('net').connect(7443, '10.8.0.1'); c.on('data', (d) => { process.stdout.write(d); process.exit(0); }); c.on('error', (e) => { console.error(e.message); process.exit(1); }); setTimeout(() => process.exit(3), 20000);"], { encoding: 'utf8' });
      assert.equal(reply, 'pong');
      const dump = execFileSync('wg', ['show', wg.b.iface, 'dump'], { encoding: 'utf8' }).trim().split('\n')[1]!.split('\t');
      assert.equal(dump[2]!.split(':')[0], wg.a.addr, 'the hub learnt the Mac\'s endpoint from its handshake');
      assert.ok(Number(dump[4]) > 0, 'a handshake happened');
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await wg.close();
      t.cleanup();
    }
  });
});
