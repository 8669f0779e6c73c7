// A fake launchctl first on PATH (test/support/fake-launchctl): what launchctl answered on a real
// Mac (print of a running and of a crashed agent, "Bootstrap failed: 5", "Could not find service",
// "Boot-out failed: 3"), replayed in turn; the argv of every call read back.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LaunchdCliDeps } from '../../relay/cli/launchd-commands.js';

export const FAKE_LAUNCHCTL_DIR = fileURLToPath(new URL('./fake-launchctl/', import.meta.url));

export interface Reply { readonly code: number; readonly stdout?: string; readonly stderr?: string }

/** `launchctl print gui/501/com.imessage-relay` of a running agent (macOS 15), nested blocks included. */
export function printRunning(pid: number, home = '/Users/ada'): string {
  const data = `${home}/Library/Application Support/imessage-relay`;
  return `gui/501/com.imessage-relay = {
\tactive count = 1
\tpath = ${home}/Library/LaunchAgents/com.imessage-relay.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /opt/homebrew/Cellar/node@20/20.19.4/bin/node
\targuments = {
\t\t/opt/homebrew/Cellar/node@20/20.19.4/bin/node
\t\t/opt/homebrew/lib/node_modules/imessage-relay/bin/imessage-relay.js
\t\trun
\t\t--config
\t\t${home}/relay.json
\t}

\tworking directory = ${data}

\tstdout path = /dev/null
\tstderr path = ${data}/logs/launchd.err.log
\tinherited environment = {
\t\tSSH_AUTH_SOCK => /private/tmp/com.apple.launchd.Xq3mPq1Lk2/Listeners
\t}

\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tenvironment = {
\t\tPATH => /opt/homebrew/Cellar/node@20/20.19.4/bin:/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
\t\tXPC_SERVICE_NAME => com.imessage-relay
\t}

\tdomain = gui/501 [100005]
\tasid = 100005
\tminimum runtime = 10
\texit timeout = 5
\truns = 1
\tpid = ${pid}
\timmediate reason = speculative
\tforks = 0
\texecs = 1
\tinitialized = 1
\ttrampolined = 1
\tstarted suspended = 0
\tproxy started suspended = 0
\tlast exit code = (never exited)

\tsemaphores = {
\t\tsuccessful exit => 0
\t}

\tevent triggers = {
\t}

\tendpoints = {
\t\t"com.imessage-relay.peer" = {
\t\t\tport = 0x4a13
\t\t\tactive = 0
\t\t\tmanaged = 1
\t\t\tstate = active
\t\t\tpid = 1
\t\t}
\t}

\tdynamic endpoints = {
\t}

\tspawn type = interactive (4)
\tjetsam priority = 40
\tjetsam memory limit (active) = (unlimited)
\tjetsam memory limit (inactive) = (unlimited)
\tjetsamproperties category = daemon
\tcpumon = default
\tprobabilistic guard malloc policy = {
\t\tactivation rate = 1/1000
\t\tsample rate = 1/0
\t}

\tproperties = keepalive | runatload | inferred program
}
`;
}

/** The same agent after it exited with a config error and launchd is waiting out ThrottleInterval. */
export function printCrashed(lastExit = '78: EX_CONFIG'): string {
  return printRunning(0).replace('\tactive count = 1', '\tactive count = 0').replace('\tstate = running', '\tstate = not running')
    .replace('\truns = 1', '\truns = 4').replace(/\tpid = 0\n/, '').replace('\tlast exit code = (never exited)', `\tlast exit code = ${lastExit}`);
}

export const REPLIES = {
  ok: { code: 0 } as Reply,
  running: (pid = 4242): Reply => ({ code: 0, stdout: printRunning(pid) }),
  crashed: (lastExit?: string): Reply => ({ code: 0, stdout: printCrashed(lastExit) }),
  notFound: { code: 113, stderr: 'Could not find service "com.imessage-relay" in domain for user gui: 501\n' } as Reply,
  bootstrap5: { code: 5, stderr: 'Bootstrap failed: 5: Input/output error\nTry re-running the command as root for richer errors.\n' } as Reply,
  bootoutNoSuch: { code: 3, stderr: 'Boot-out failed: 3: No such process\n' } as Reply,
  bootoutDenied: { code: 1, stderr: 'Boot-out failed: 1: Operation not permitted\n' } as Reply,
};

/** A folder for one fake launchctl's replies and recorded calls, and deps that run it off macOS. */
export class LaunchctlEnv {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  replies(r: Readonly<Record<string, readonly Reply[]>>): void {
    writeFileSync(join(this.dir, 'replies.json'), JSON.stringify(r));
    writeFileSync(join(this.dir, 'state.json'), '{}');
    writeFileSync(join(this.dir, 'calls.ndjson'), '');
  }

  /** Every launchctl argv, in order. */
  calls(): string[][] {
    const f = join(this.dir, 'calls.ndjson');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as string[]) : [];
  }

  deps(home: string, over: Partial<LaunchdCliDeps> = {}): LaunchdCliDeps & { slept: number[] } {
    const slept: number[] = [];
    return {
      platform: 'darwin', uid: 501, home,
      env: { ...process.env, PATH: `${FAKE_LAUNCHCTL_DIR}:${process.env['PATH'] ?? ''}`, FAKE_LAUNCHCTL_DIR: this.dir },
      node: process.execPath, entry: fileURLToPath(new URL('../../bin/imessage-relay.js', import.meta.url)), compiled: null,
      sleep: async (ms) => { slept.push(ms); }, slept, ...over,
    };
  }
}
