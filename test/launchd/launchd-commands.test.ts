// install / uninstall / restart / status against a fake launchctl first on PATH that records every
// argv and replays what a real Mac answers (bootstrap already loaded: error 5, "Could not find
// service": 113, "No such process": 3). The plist written is parsed back with a real plist parser.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'plist';
import { installCommand, restartCommand, statusCommand, uninstallCommand } from '../../relay/cli/launchd-commands.js';
import type { CliIo } from '../../relay/cli/io.js';
import { RelayError } from '../../relay/errors.js';
import { tempDir } from '../support/chatdb-env.js';
import { LaunchctlEnv, REPLIES } from '../support/launchctl-env.js';
import { cliArgs } from '../support/processes.js';

function io(): CliIo & { out: () => string } {
  let out = '';
  return { stdout: (t) => { out += t; }, stderr: () => undefined, logDestination: process.stderr, onInterrupt: () => undefined, offInterrupt: () => undefined, out: () => out };
}

/** A home folder, a Mac config in it and a fake launchctl. */
function setup(log: Record<string, unknown> = {}) {
  const t = tempDir('imr-launchd-');
  const home = join(t.dir, 'Users', 'ada');
  const config = join(home, 'relay config.json');
  const dataDir = join(home, 'Library', 'Application Support', 'imessage-relay');
  const lc = new LaunchctlEnv(join(t.dir, 'launchctl'));
  lc.replies({});
  mkdirSync(dirname(config), { recursive: true });
  writeFileSync(config, JSON.stringify({ dataDir, hub: { url: 'ws://10.8.0.1:7443', publicKey: 'AAAA' }, log }));
  const plist = join(home, 'Library', 'LaunchAgents', 'com.imessage-relay.plist');
  return { t, home, config, dataDir, lc, plist, deps: lc.deps(home) };
}

type Agent = { Label: string; ProgramArguments: string[]; RunAtLoad: boolean; KeepAlive: { SuccessfulExit: boolean }; ThrottleInterval: number;
  ProcessType: string; StandardOutPath: string; StandardErrorPath: string; WorkingDirectory: string; EnvironmentVariables: { PATH: string } };

const rejectsWith = (code: string, message?: RegExp) => (err: unknown): boolean =>
  err instanceof RelayError && err.code === code && (message === undefined || message.test(err.message));

describe('launchd commands', () => {
  it('install --dry-run prints a plist that parses back to the agent we need, and the exact commands, without running any', async () => {
    const s = setup();
    try {
      const o = io();
      assert.equal(await installCommand(['--config', s.config, '--dry-run'], o, { ...s.deps, platform: 'linux' }), 0);
      const text = o.out();
      const xml = text.slice(text.indexOf('<?xml'), text.indexOf('</plist>') + '</plist>'.length);
      const agent = parse(xml) as unknown as Agent;
      assert.equal(agent.Label, 'com.imessage-relay');
      assert.deepEqual(agent.ProgramArguments, [process.execPath, s.deps.entry, 'run', '--config', s.config]);
      assert.equal(agent.RunAtLoad, true);
      assert.deepEqual(agent.KeepAlive, { SuccessfulExit: false }, 'restarted after a crash, not after a clean stop');
      assert.equal(agent.ThrottleInterval, 10);
      assert.equal(agent.ProcessType, 'Interactive');
      assert.equal(agent.WorkingDirectory, s.dataDir);
      assert.equal(agent.StandardErrorPath, join(s.dataDir, 'logs', 'launchd.err.log'));
      assert.equal(agent.StandardOutPath, '/dev/null', 'stdout repeats the rolled log file already in the data folder');
      assert.doesNotMatch(xml, /\/tmp\/imessage-relay/, 'not the old template\'s /tmp logs');
      assert.equal(agent.EnvironmentVariables.PATH.split(':')[0], dirname(process.execPath));
      assert.ok(agent.EnvironmentVariables.PATH.split(':').includes('/opt/homebrew/bin'));
      assert.deepEqual(Object.keys(agent).sort(), ['EnvironmentVariables', 'KeepAlive', 'Label', 'ProcessType', 'ProgramArguments', 'RunAtLoad',
        'StandardErrorPath', 'StandardOutPath', 'ThrottleInterval', 'WorkingDirectory']);
      assert.match(text, new RegExp(`^launchctl bootstrap gui/501 ${s.plist.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      assert.match(text, /^launchctl bootout gui\/501\/com\.imessage-relay$/m);
      assert.match(text, /^launchctl print gui\/501\/com\.imessage-relay {3}# loaded already\?/m);
      assert.deepEqual(s.lc.calls(), [], 'a dry run runs nothing');
      assert.equal(existsSync(s.plist), false, 'and writes nothing');
    } finally { s.t.cleanup(); }
  });

  it('with log.file null the daemon\'s stdout is its only log: it goes to the data folder', async () => {
    const s = setup({ file: null });
    try {
      const o = io();
      await installCommand(['--config', s.config, '--dry-run'], o, s.deps);
      const text = o.out();
      const agent = parse(text.slice(text.indexOf('<?xml'), text.indexOf('</plist>') + 8)) as unknown as Agent;
      assert.equal(agent.StandardOutPath, join(s.dataDir, 'logs', 'launchd.out.log'));
    } finally { s.t.cleanup(); }
  });

  it('off macOS every command but --dry-run refuses with LAUNCHD_UNSUPPORTED and runs nothing', async () => {
    const s = setup();
    try {
      const linux = { ...s.deps, platform: 'linux' as const };
      await assert.rejects(installCommand(['--config', s.config], io(), linux), rejectsWith('LAUNCHD_UNSUPPORTED', /macOS LaunchAgent and this is linux; "install --dry-run" prints/));
      await assert.rejects(uninstallCommand([], io(), linux), rejectsWith('LAUNCHD_UNSUPPORTED'));
      await assert.rejects(restartCommand([], io(), linux), rejectsWith('LAUNCHD_UNSUPPORTED'));
      await assert.rejects(statusCommand([], io(), linux), rejectsWith('LAUNCHD_UNSUPPORTED'));
      assert.deepEqual(s.lc.calls(), []);
      for (const dry of [uninstallCommand, restartCommand, statusCommand]) assert.equal(await dry(['--dry-run'], io(), linux), 0);
      assert.deepEqual(s.lc.calls(), []);
    } finally { s.t.cleanup(); }
  });

  it('the real CLI on this Linux machine: install refuses clearly, install --dry-run prints the plist', async () => {
    const s = setup();
    try {
      const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
        execFile(process.execPath, [...cliArgs(), ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr }));
      });
      const refused = await run(['install', '--config', s.config]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^error LAUNCHD_UNSUPPORTED: "install" manages a macOS LaunchAgent and this is linux/);
      const dry = await run(['install', '--config', s.config, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal((parse(dry.stdout.slice(dry.stdout.indexOf('<?xml'), dry.stdout.indexOf('</plist>') + 8)) as unknown as Agent).ProgramArguments[2], 'run');
    } finally { s.t.cleanup(); }
  });

  it('install writes the plist (0644), makes the log folder and bootstraps it into gui/<uid>', async () => {
    const s = setup();
    try {
      s.lc.replies({ print: [REPLIES.notFound, REPLIES.running(4242)] });
      const o = io();
      // Given relative to where the admin stands: the agent must still find it (launchd starts it in the data folder).
      assert.equal(await installCommand(['--config', relative(process.cwd(), s.config)], o, s.deps), 0);
      assert.deepEqual(s.lc.calls(), [
        ['print', 'gui/501/com.imessage-relay'],
        ['bootstrap', 'gui/501', s.plist],
        ['print', 'gui/501/com.imessage-relay'],
      ]);
      assert.equal(statSync(s.plist).mode & 0o777, 0o644);
      const agent = parse(readFileSync(s.plist, 'utf8')) as unknown as Agent;
      assert.deepEqual(agent.ProgramArguments.slice(2), ['run', '--config', s.config]);
      assert.equal(statSync(join(s.dataDir, 'logs')).mode & 0o777, 0o700);
      assert.match(o.out(), /com\.imessage-relay: running, pid 4242/);
      assert.deepEqual(s.deps.slept, []);
    } finally { s.t.cleanup(); }
  });

  it('install over a loaded agent boots it out first, and retries a bootstrap refused with error 5 while it drains', async () => {
    const s = setup();
    try {
      s.lc.replies({ print: [REPLIES.running(100), REPLIES.running(200)], bootstrap: [REPLIES.bootstrap5, REPLIES.ok] });
      const o = io();
      assert.equal(await installCommand(['--config', s.config], o, s.deps), 0);
      assert.deepEqual(s.lc.calls().map((c) => c[0]), ['print', 'bootout', 'bootstrap', 'bootstrap', 'print']);
      assert.deepEqual(s.lc.calls()[1], ['bootout', 'gui/501/com.imessage-relay']);
      assert.deepEqual(s.deps.slept, [1000]);
      assert.match(o.out(), /running, pid 200/);
    } finally { s.t.cleanup(); }
  });

  it('install fails with LAUNCHD_BOOTSTRAP_FAILED when launchctl keeps answering error 5', async () => {
    const s = setup();
    try {
      s.lc.replies({ print: [REPLIES.notFound], bootstrap: [REPLIES.bootstrap5] });
      await assert.rejects(installCommand(['--config', s.config], io(), s.deps),
        rejectsWith('LAUNCHD_BOOTSTRAP_FAILED', /launchctl bootstrap failed \(5\): Bootstrap failed: 5: Input\/output error — the agent is still loaded/));
      assert.deepEqual(s.lc.calls().map((c) => c[0]), ['print', 'bootstrap', 'bootstrap', 'bootstrap']);
      assert.deepEqual(s.deps.slept, [1000, 1000]);
    } finally { s.t.cleanup(); }
  });

  it('install refuses a config that would not start, and a node binary that is not there, before touching launchd', async () => {
    const s = setup();
    try {
      writeFileSync(s.config, JSON.stringify({ hub: { url: 'http://nope', publicKey: 'AAAA' } }));
      await assert.rejects(installCommand(['--config', s.config], io(), s.deps), rejectsWith('CONFIG_INVALID', /"hub\.url"/));
      writeFileSync(s.config, JSON.stringify({ dataDir: s.dataDir, hub: { url: 'ws://10.8.0.1:7443', publicKey: 'AAAA' } }));
      await assert.rejects(installCommand(['--config', s.config, '--node', '/nowhere/node'], io(), s.deps), rejectsWith('LAUNCHD_BAD_PATH', /the node binary \/nowhere\/node is missing/));
      await assert.rejects(installCommand(['--config', s.config], io(), { ...s.deps, compiled: join(s.home, 'dist', 'cli.js') }), rejectsWith('LAUNCHD_BAD_PATH', /npm run build/));
      assert.deepEqual(s.lc.calls(), []);
      assert.equal(existsSync(s.plist), false);
    } finally { s.t.cleanup(); }
  });

  it('uninstall boots the agent out and removes the plist; "not loaded" is fine; another failure keeps the plist', async () => {
    const s = setup();
    try {
      s.lc.replies({ print: [REPLIES.notFound] });
      await installCommand(['--config', s.config], io(), s.deps);
      s.lc.replies({ bootout: [REPLIES.ok] });
      let o = io();
      assert.equal(await uninstallCommand([], o, s.deps), 0);
      assert.deepEqual(s.lc.calls(), [['bootout', 'gui/501/com.imessage-relay']]);
      assert.equal(existsSync(s.plist), false);
      assert.match(o.out(), /stopped gui\/501\/com\.imessage-relay\nremoved /);

      s.lc.replies({ bootout: [REPLIES.bootoutNoSuch] });
      o = io();
      assert.equal(await uninstallCommand([], o, s.deps), 0);
      assert.match(o.out(), /was not loaded\nno plist at /);

      s.lc.replies({ print: [REPLIES.notFound] });
      await installCommand(['--config', s.config], io(), s.deps);
      s.lc.replies({ bootout: [REPLIES.bootoutDenied] });
      await assert.rejects(uninstallCommand([], io(), s.deps), rejectsWith('LAUNCHD_FAILED', /launchctl bootout failed \(1\): Boot-out failed: 1: Operation not permitted/));
      assert.equal(existsSync(s.plist), true, 'the agent may still run: its plist stays');
    } finally { s.t.cleanup(); }
  });

  it('restart is kickstart -k; an agent that is not loaded is LAUNCHD_NOT_LOADED', async () => {
    const s = setup();
    try {
      s.lc.replies({ print: [REPLIES.running(777)] });
      const o = io();
      assert.equal(await restartCommand([], o, s.deps), 0);
      assert.deepEqual(s.lc.calls(), [['kickstart', '-k', 'gui/501/com.imessage-relay'], ['print', 'gui/501/com.imessage-relay']]);
      assert.match(o.out(), /restarted gui\/501\/com\.imessage-relay\ncom\.imessage-relay: running, pid 777/);
      s.lc.replies({ kickstart: [REPLIES.notFound] });
      await assert.rejects(restartCommand([], io(), s.deps), rejectsWith('LAUNCHD_NOT_LOADED', /not loaded \(Could not find service "com\.imessage-relay" in domain for user gui: 501\): run "imessage-relay install" first/));
    } finally { s.t.cleanup(); }
  });

  it('status reads launchctl print: running with its pid, crashed with its exit code, not loaded', async () => {
    const s = setup();
    try {
      s.lc.replies({ print: [REPLIES.running(4242), REPLIES.crashed(), REPLIES.crashed('Killed: 9'), REPLIES.notFound] });
      let o = io();
      await statusCommand([], o, s.deps);
      assert.equal(o.out().split('\n')[0], 'com.imessage-relay: running, pid 4242');
      assert.match(o.out(), /last exit: \(never exited\)/);
      o = io();
      await statusCommand(['--json'], o, s.deps);
      const crashed = JSON.parse(o.out()) as Record<string, unknown>;
      assert.deepEqual([crashed['loaded'], crashed['running'], crashed['state'], crashed['pid'], crashed['lastExit'], crashed['lastExitCode'], crashed['runs'], crashed['installed']],
        [true, false, 'not running', null, '78: EX_CONFIG', 78, 4, false]);
      o = io();
      await statusCommand(['--json'], o, s.deps);
      assert.deepEqual((JSON.parse(o.out()) as { lastExitCode: unknown }).lastExitCode, null, 'a signal is not an exit code');
      o = io();
      await statusCommand([], o, s.deps);
      assert.equal(o.out(), 'com.imessage-relay: not loaded (not installed)\n');
      assert.deepEqual(s.lc.calls().map((c) => c.join(' ')), Array(4).fill('print gui/501/com.imessage-relay'));
    } finally { s.t.cleanup(); }
  });
});
