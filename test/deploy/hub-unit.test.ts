// `imessage-relay hub-unit` run as a child process on hub configs as an admin writes them; the unit
// it prints is parsed back (keys, quoting, specifiers) and checked by systemd's own `systemd-analyze verify`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../relay/cli.js';
import { tempDir } from '../support/chatdb-env.js';
import { runCli, type CliResult } from '../support/processes.js';

const TOKEN_ENV = { IMR_TEST_TOKEN: 'token-0123456789abcdef' };
process.env['IMR_TEST_TOKEN'] = TOKEN_ENV.IMR_TEST_TOKEN;

/** The command in this process (the first case runs it as a child process, as an admin would). */
async function inProcess(args: readonly string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, logDestination: process.stderr, onInterrupt: () => undefined, offInterrupt: () => undefined });
  return { code, stdout, stderr };
}
const RELAY = { account: 'alice', publicKey: Buffer.alloc(32, 7).toString('base64') };

type Unit = Record<string, Record<string, string[]>>;

/** Splits one command line / path list as systemd does: double quotes with C escapes, `%%` and `$$`. */
function words(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ') i++;
    if (i >= value.length) break;
    let w = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\') { i++; w += ({ n: '\n', t: '\t' } as Record<string, string>)[value[i]!] ?? value[i]; } else w += value[i];
        i++;
      }
      i++;
    } else {
      while (i < value.length && value[i] !== ' ') w += value[i++];
    }
    out.push(w.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return out;
}

function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head !== null) { section = head[1]!; unit[section] = {}; continue; }
    const eq = line.indexOf('=');
    assert.ok(eq > 0 && section !== '', `not a unit line: ${line}`);
    (unit[section]![line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return unit;
}

const one = (u: Unit, section: string, key: string): string | undefined => {
  const v = u[section]?.[key];
  assert.ok(v === undefined || v.length === 1, `${key} set ${v?.length} times`);
  return v?.[0];
};

function verify(file: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 60_000 }, (err, _out, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') assert.fail('systemd-analyze is not installed (apt-get install systemd): the unit cannot be verified');
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr });
    });
  });
}

/** A hub config file in a fresh folder; `render` runs hub-unit on it and returns the text, the parsed unit and systemd's verdict. */
function hubConfig(json: Record<string, unknown>) {
  const t = tempDir('imr-unit-');
  const config = join(t.dir, 'hub config.json');
  writeFileSync(config, JSON.stringify({ api: { tokenEnv: 'IMR_TEST_TOKEN' }, relays: [RELAY], ...json }));
  return {
    t, config,
    async render(extra: readonly string[] = [], child = false) {
      const args = ['hub-unit', '--config', config, ...extra];
      const r = child ? await runCli(args, { env: TOKEN_ENV }) : await inProcess(args);
      assert.equal(r.code, 0, r.stderr);
      const file = join(t.dir, 'imessage-relay-hub.service');
      writeFileSync(file, r.stdout);
      return { text: r.stdout, note: r.stderr, unit: parseUnit(r.stdout), verdict: await verify(file) };
    },
  };
}

describe('hub-unit: the hub as a systemd service', () => {
  it('a hub whose link listens on the tunnel address starts after wg-quick@<interface>, as a non-root user, locked down, and systemd accepts the unit', async () => {
    const c = hubConfig({ dataDir: '/var/lib/imessage-relay', listen: { host: '10.8.0.1', port: 7443 }, tunnel: { interface: 'imr0' } });
    try {
      const { unit, verdict } = await c.render([], true);
      assert.deepEqual(verdict, { code: 0, stderr: '' }, 'systemd-analyze verify has nothing to say');
      assert.deepEqual(one(unit, 'Unit', 'After')!.split(' ').sort(), ['network-online.target', 'wg-quick@imr0.service']);
      assert.deepEqual(one(unit, 'Unit', 'Wants')!.split(' ').sort(), ['network-online.target', 'wg-quick@imr0.service']);
      assert.equal(one(unit, 'Service', 'User'), 'imessage-relay');
      assert.deepEqual(words(one(unit, 'Service', 'ExecStart')!), [process.execPath, join(process.cwd(), 'bin', 'imessage-relay.js'), 'hub', '--config', c.config]);
      assert.equal(one(unit, 'Service', 'StateDirectory'), 'imessage-relay');
      assert.equal(one(unit, 'Service', 'StateDirectoryMode'), '0700');
      assert.equal(one(unit, 'Service', 'WorkingDirectory'), '/var/lib/imessage-relay');
      assert.equal(one(unit, 'Service', 'ReadWritePaths'), undefined, 'the state directory is the only place it writes');
      assert.equal(one(unit, 'Service', 'ProtectSystem'), 'strict');
      assert.equal(one(unit, 'Service', 'ProtectHome'), 'yes');
      assert.equal(one(unit, 'Service', 'NoNewPrivileges'), 'yes');
      assert.equal(one(unit, 'Service', 'Restart'), 'on-failure');
      assert.equal(one(unit, 'Service', 'CapabilityBoundingSet'), 'CAP_NET_ADMIN', 'wg show needs it to watch the tunnel');
      assert.equal(one(unit, 'Service', 'AmbientCapabilities'), 'CAP_NET_ADMIN');
      assert.equal(one(unit, 'Install', 'WantedBy'), 'multi-user.target');
    } finally { c.t.cleanup(); }
  });

  it('a link on loopback or on every address waits for no tunnel, and an unwatched tunnel gets no capability at all', async () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::']) {
      const c = hubConfig({ dataDir: '/var/lib/imr-hub', listen: { host }, ...(host === '::' ? {} : { tunnel: { interface: 'imr0' } }) });
      try {
        const { unit, verdict } = await c.render(['--user', 'imrhub']);
        assert.deepEqual(verdict, { code: 0, stderr: '' });
        assert.equal(one(unit, 'Unit', 'After'), 'network-online.target', host);
        assert.equal(one(unit, 'Unit', 'Wants'), 'network-online.target', host);
        assert.equal(one(unit, 'Service', 'User'), 'imrhub');
        assert.equal(one(unit, 'Service', 'StateDirectory'), 'imr-hub');
        assert.equal(one(unit, 'Service', 'CapabilityBoundingSet'), host === '::' ? '' : 'CAP_NET_ADMIN', host);
        assert.equal(one(unit, 'Service', 'AmbientCapabilities'), host === '::' ? undefined : 'CAP_NET_ADMIN', host);
      } finally { c.t.cleanup(); }
    }
  });

  it('a data folder outside /var/lib, a log folder elsewhere and paths with spaces, % and $ come out writable and exactly as configured', async () => {
    const c = hubConfig({ dataDir: '/srv/imr data/100%$HOME', log: { file: '/home/ops/hub logs/hub.log' }, listen: { host: '10.8.0.1' } });
    try {
      const node = '/usr/bin/env';
      const { unit, verdict, note } = await c.render(['--node', node]);
      assert.deepEqual(verdict, { code: 0, stderr: '' });
      assert.equal(one(unit, 'Service', 'StateDirectory'), undefined);
      assert.deepEqual(words(one(unit, 'Service', 'ReadWritePaths')!), ['/srv/imr data/100%$HOME', '/home/ops/hub logs']);
      assert.equal(one(unit, 'Service', 'WorkingDirectory')!.replace(/%%/g, '%'), '/srv/imr data/100%$HOME');
      assert.equal(words(one(unit, 'Service', 'ExecStart')!)[0], node);
      assert.equal(words(one(unit, 'Service', 'ExecStart')!)[4], c.config, 'the config path with its space is one argument');
      assert.equal(one(unit, 'Service', 'ProtectHome'), 'read-only', 'a log under /home stays reachable');
      assert.equal(one(unit, 'Unit', 'After'), 'network-online.target', 'no tunnel interface named: nothing to wait for');
      assert.match(note, /^note: the link listens on 10\.8\.0\.1, and no tunnel interface is named: .*--tunnel <interface>/, 'and the admin is told so');
    } finally { c.t.cleanup(); }
  });

  it('--tunnel names the wg-quick interface for a hub that does not watch it: ordered after it, still no capability', async () => {
    const c = hubConfig({ dataDir: '/var/lib/imessage-relay', listen: { host: '10.8.0.1' } });
    try {
      const { unit, verdict, note } = await c.render(['--tunnel', 'imr0']);
      assert.deepEqual(verdict, { code: 0, stderr: '' });
      assert.equal(note, '');
      assert.deepEqual(one(unit, 'Unit', 'After')!.split(' ').sort(), ['network-online.target', 'wg-quick@imr0.service']);
      assert.deepEqual(one(unit, 'Unit', 'Wants')!.split(' ').sort(), ['network-online.target', 'wg-quick@imr0.service']);
      assert.equal(one(unit, 'Service', 'CapabilityBoundingSet'), '');
      assert.equal(one(unit, 'Service', 'AmbientCapabilities'), undefined);
    } finally { c.t.cleanup(); }
  });

  it('--out writes the same unit, readable by systemd (0644)', async () => {
    const c = hubConfig({ dataDir: '/var/lib/imessage-relay' });
    try {
      const printed = (await c.render()).text;
      const out = join(c.t.dir, 'written.service');
      const r = await inProcess(['hub-unit', '--config', c.config, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(out, 'utf8'), printed);
      assert.equal(statSync(out).mode & 0o777, 0o644);
      assert.match(r.stdout, /systemctl daemon-reload && systemctl enable --now imessage-relay-hub\.service/);
    } finally { c.t.cleanup(); }
  });

  it('refuses what cannot work under the unit: root, a sudo tunnel command (NoNewPrivileges), a relative path, a bad config', async () => {
    const cases: Array<[Record<string, unknown>, string[], RegExp]> = [
      [{ dataDir: '/var/lib/imessage-relay' }, ['--user', 'root'], /^error SYSTEMD_BAD_USER: /],
      [{ dataDir: '/var/lib/imessage-relay' }, ['--user', 'Bad User'], /^error SYSTEMD_BAD_USER: /],
      [{ dataDir: '/var/lib/imessage-relay', tunnel: { interface: 'imr0', command: ['sudo', '-n', 'wg'] } }, [], /^error SYSTEMD_TUNNEL_SUDO: .*tunnel\.command to \["wg"\]/],
      [{ dataDir: '/var/lib/imessage-relay', tunnel: { interface: 'imr0', restartCommand: [['/usr/bin/sudo', 'wg-quick', 'up', 'imr0']] } }, [], /^error SYSTEMD_TUNNEL_SUDO: /],
      [{ dataDir: '/var/lib/imessage-relay' }, ['--node', 'node'], /^error SYSTEMD_BAD_PATH: .*node is "node"/],
      [{ dataDir: '/var/lib' }, [], /^error SYSTEMD_BAD_PATH: .*folder of its own/],
      [{ dataDir: '/var/lib/imessage-relay', listen: { host: '10.8.0.1' } }, ['--tunnel', 'imr0 x'], /^error SYSTEMD_BAD_TUNNEL: /],
      [{ dataDir: '/var/lib/imessage-relay', relays: [] }, [], /^error CONFIG_INVALID: /],
    ];
    for (const [json, extra, expected] of cases) {
      const c = hubConfig(json);
      try {
        const r = await inProcess(['hub-unit', '--config', c.config, ...extra]);
        assert.equal(r.code, 1, `${JSON.stringify(json)} ${extra.join(' ')}`);
        assert.match(r.stderr, expected);
        assert.equal(r.stdout, '', 'no half unit printed');
      } finally { c.t.cleanup(); }
    }
  });
});
