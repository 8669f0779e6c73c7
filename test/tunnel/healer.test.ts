// The tunnel healer on a fake clock with a fake wg and resolver: a dead tunnel gets its endpoint
// name looked up again and set with `wg set`, then the restart command with exponential backoff,
// reset once it is up; each action logged and counted. And the `tunnel` config that asks for it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ConfigNode } from '../../relay/config/validate.js';
import { parseTunnel, type TunnelConfig } from '../../relay/config/tunnel-config.js';
import { RelayError } from '../../relay/errors.js';
import { Metrics } from '../../relay/health/metrics.js';
import { createLogger } from '../../relay/logger.js';
import type { CommandResult, RunOptions } from '../../relay/run-command.js';
import { watchTunnel } from '../../relay/tunnel/watch-tunnel.js';
import type { WgDump } from '../../relay/tunnel/wg-dump.js';

const PEER = '+Za8LFe/tbSymgRT/7wy24f96VDsCVEqKslVuchtkA8=';
const H = 1795715422; // the first handshake, Unix seconds

function harness(settings: Partial<TunnelConfig>) {
  const clock = { t: H * 1000 + 5000, now: () => clock.t, setTimeout: () => null, clearTimeout: () => undefined };
  let dump: WgDump | RelayError = { publicKey: 'DFqsHj9/H2sZEgimqS1xfcZ/tg2VApT5x5PLNEpoBng=', listenPort: 44109, peers: [
    { publicKey: PEER, endpoint: '203.0.113.5:51820', allowedIps: ['10.8.0.1/32'], latestHandshake: H, rxBytes: 1000, txBytes: 500, keepaliveSeconds: 25 },
  ] };
  const ran: string[][] = [];
  /** Exit code and stderr per command line (joined by spaces); default 0. */
  const outcome = new Map<string, { exitCode: number; stderr: string }>();
  const run = async (file: string, args: readonly string[], _o: RunOptions): Promise<CommandResult> => {
    ran.push([file, ...args]);
    const o = outcome.get([file, ...args].join(' ')) ?? { exitCode: 0, stderr: '' };
    // What `wg set … endpoint` does to the next dump.
    if (args.includes('set') && o.exitCode === 0 && !(dump instanceof RelayError)) dump = { ...dump, peers: [{ ...dump.peers[0]!, endpoint: args[args.length - 1]! }] };
    return { ...o, signal: null, stdout: '', timedOut: false, durationMs: 1 };
  };
  const lookups: string[] = [];
  let address: string | Error = '203.0.113.5';
  const logs: Array<{ msg: string; [k: string]: unknown }> = [];
  const logger = createLogger({ destination: new Writable({ write(c, _e, cb) { logs.push(JSON.parse(String(c)) as never); cb(); } }) });
  const metrics = new Metrics();
  const cfg: TunnelConfig = {
    interface: 'wg0', peer: null, command: ['sudo', '-n', 'wg'], checkSeconds: 10, maxHandshakeAgeSeconds: 180,
    endpoint: 'hub.example.net:51820', restartCommand: [['sudo', '-n', 'wg-quick', 'down', 'wg0'], ['sudo', '-n', 'wg-quick', 'up', 'wg0']],
    healAfterSeconds: 30, healBackoffSeconds: 10, healBackoffCapSeconds: 40, ...settings,
  };
  const w = watchTunnel(cfg, {
    clock, logger, metrics, run,
    show: async () => { if (dump instanceof RelayError) throw dump; return dump; },
    resolve: async (host) => { lookups.push(host); if (address instanceof Error) throw address; return address; },
  })!;
  const h = {
    clock, ran, outcome, lookups, logs, metrics, watchdog: w,
    get dump(): WgDump | RelayError { return dump; },
    set dump(d: WgDump | RelayError) { dump = d; },
    set address(a: string | Error) { address = a; },
    peer: (p: Partial<WgDump['peers'][number]>): void => { const d = dump as WgDump; dump = { ...d, peers: [{ ...d.peers[0]!, ...p }] }; },
    /** Moves the clock on by `s` seconds and checks once: the verdict's code (null = up) and the commands it ran. */
    async after(s: number): Promise<{ code: string | null; ran: string[] }> {
      clock.t += s * 1000;
      const before = ran.length;
      const v = await w.check();
      return { code: v.code, ran: ran.slice(before).map((a) => a.join(' ')) };
    },
    counted: async (action: string, result: string): Promise<number> => {
      const m = new RegExp(`^imessage_relay_tunnel_heal_actions_total\\{action="${action}",result="${result}"\\} (\\d+)$`, 'm').exec(await metrics.render());
      return m === null ? 0 : Number(m[1]);
    },
  };
  return h;
}

const SET = `sudo -n wg set wg0 peer ${PEER} endpoint 198.51.100.7:51820`;
const DOWN = 'sudo -n wg-quick down wg0';
const UP = 'sudo -n wg-quick up wg0';

describe('tunnel healer', () => {
  it('stale: the endpoint name looked up again and set; still stale: restarts spaced 10, 20, 40, 40 s; up: healed, and the next episode starts from 10 s again', async () => {
    const h = harness({});
    assert.deepEqual(await h.after(0), { code: null, ran: [] });
    h.peer({ rxBytes: 2000 }); // heard from the hub 105 s after the handshake
    assert.deepEqual(await h.after(100), { code: null, ran: [] });
    assert.deepEqual(await h.after(100), { code: null, ran: [] }, 'handshake 205 s old, but bytes came in 100 s ago: alive');
    h.address = '198.51.100.7'; // the hub moved; WireGuard still sends to the address it resolved at start
    const stale = await h.after(81);
    assert.deepEqual(stale, { code: 'TUNNEL_STALE', ran: [SET] }, 'silent 181 s: the name is looked up again and the peer moved, no restart yet');
    assert.match(h.watchdog.status.reason!, /^nothing received from 203\.0\.113\.5:51820 for 181 s \(last handshake 286 s ago\)$/);
    assert.deepEqual(h.lookups, ['hub.example.net']);
    assert.equal(await h.counted('endpoint', 'changed'), 1);
    const moved = h.logs.find((l) => l.msg === 'tunnel endpoint moved');
    assert.deepEqual([moved?.['from'], moved?.['address'], moved?.['level']], ['203.0.113.5:51820', '198.51.100.7:51820', 30]);

    assert.deepEqual(await h.after(9), { code: 'TUNNEL_STALE', ran: [] }, 'the new endpoint gets 10 s');
    assert.deepEqual(await h.after(1), { code: 'TUNNEL_STALE', ran: [DOWN, UP] }, 'the same address again: restart (down, then up)');
    assert.equal(await h.counted('endpoint', 'unchanged'), 1);
    assert.equal(await h.counted('restart', 'ok'), 1);
    assert.deepEqual(await h.after(19), { code: 'TUNNEL_STALE', ran: [] });
    assert.deepEqual(await h.after(1), { code: 'TUNNEL_STALE', ran: [DOWN, UP] }, 'second restart 20 s after the first');
    assert.deepEqual(await h.after(39), { code: 'TUNNEL_STALE', ran: [] });
    assert.deepEqual(await h.after(1), { code: 'TUNNEL_STALE', ran: [DOWN, UP] }, 'third 40 s after');
    assert.deepEqual(await h.after(39), { code: 'TUNNEL_STALE', ran: [] });
    assert.deepEqual(await h.after(1), { code: 'TUNNEL_STALE', ran: [DOWN, UP] }, 'then every 40 s (the cap)');
    assert.equal(await h.counted('restart', 'ok'), 4);
    assert.equal(h.logs.filter((l) => l.msg === 'tunnel restarting' && l.level === 40).length, 4);

    h.peer({ latestHandshake: Math.floor(h.clock.t / 1000) + 5, rxBytes: 3000 });
    assert.deepEqual(await h.after(5), { code: null, ran: [] });
    const healed = h.logs.find((l) => l.msg === 'tunnel healed');
    assert.deepEqual([healed?.['attempts'], healed?.['down_s']], [5, 115]);

    assert.deepEqual(await h.after(181), { code: 'TUNNEL_STALE', ran: [DOWN, UP] }, 'stale again: at once (the same address: straight to the restart)');
    assert.deepEqual(await h.after(10), { code: 'TUNNEL_STALE', ran: [DOWN, UP] }, 'backoff back to 10 s');
    assert.deepEqual(h.ran.filter((a) => a.includes('set')).length, 1);
  });

  it('no interface: left alone for healAfterSeconds, then restarted without a lookup; a failed restart is logged and counted, and retried after the backoff', async () => {
    const h = harness({ healAfterSeconds: 30, restartCommand: [['sudo', '-n', 'launchctl', 'kickstart', '-k', 'system/com.example.wg']] });
    h.dump = new RelayError('TUNNEL_NO_INTERFACE', 'WireGuard interface wg0 does not exist (is the tunnel up?)');
    const KICK = 'sudo -n launchctl kickstart -k system/com.example.wg';
    h.outcome.set(KICK, { exitCode: 1, stderr: 'sudo: a password is required' });
    assert.deepEqual(await h.after(0), { code: 'TUNNEL_NO_INTERFACE', ran: [] });
    assert.deepEqual(await h.after(29), { code: 'TUNNEL_NO_INTERFACE', ran: [] }, 'a tunnel still coming up is given 30 s');
    assert.deepEqual(await h.after(1), { code: 'TUNNEL_NO_INTERFACE', ran: [KICK] });
    assert.deepEqual(h.lookups, [], 'no interface to set an endpoint on');
    assert.equal(await h.counted('restart', 'failed'), 1);
    const failed = h.logs.find((l) => l.msg === 'tunnel restart failed');
    assert.equal(failed?.['code'], 'TUNNEL_RESTART_FAILED');
    assert.match(String(failed?.['err']), /`sudo -n launchctl kickstart -k system\/com\.example\.wg` failed \(exit 1\): sudo: a password is required/);
    h.outcome.delete(KICK);
    assert.deepEqual(await h.after(9), { code: 'TUNNEL_NO_INTERFACE', ran: [] });
    assert.deepEqual(await h.after(1), { code: 'TUNNEL_NO_INTERFACE', ran: [KICK] });
    assert.equal(await h.counted('restart', 'ok'), 1);
  });

  it('a lookup that fails, or a `wg set` that fails, is counted and the restart runs; a down that fails before an up that works is a restart that worked', async () => {
    const h = harness({});
    h.outcome.set(DOWN, { exitCode: 1, stderr: 'wg-quick: `wg0\' is not a WireGuard interface' });
    h.address = Object.assign(new Error('getaddrinfo ENOTFOUND hub.example.net'), { code: 'ENOTFOUND' });
    assert.deepEqual(await h.after(181), { code: 'TUNNEL_STALE', ran: [DOWN, UP] });
    assert.equal(await h.counted('endpoint', 'unresolved'), 1);
    assert.equal(await h.counted('restart', 'ok'), 1);
    const unresolved = h.logs.find((l) => l.msg === 'tunnel endpoint not re-resolved');
    assert.deepEqual([unresolved?.['code'], unresolved?.['err']], ['TUNNEL_RESOLVE_FAILED', 'could not resolve hub.example.net: ENOTFOUND']);
    h.address = '198.51.100.7';
    h.outcome.set(SET, { exitCode: 1, stderr: 'Unable to modify interface: Operation not permitted' });
    assert.deepEqual(await h.after(10), { code: 'TUNNEL_STALE', ran: [SET, DOWN, UP] });
    assert.equal(await h.counted('endpoint', 'failed'), 1);
    assert.equal(h.logs.find((l) => l.msg === 'tunnel endpoint not set')?.['code'], 'TUNNEL_PERMISSION');
  });

  it('acts on nothing an action cannot mend (no permission to read wg), then at once on the stale tunnel behind it; not at all without an endpoint or a restart command', async () => {
    const h = harness({ healAfterSeconds: 0 });
    const live = h.dump;
    h.dump = new RelayError('TUNNEL_PERMISSION', 'not allowed to read wg0');
    assert.deepEqual(await h.after(0), { code: 'TUNNEL_PERMISSION', ran: [] });
    assert.deepEqual(await h.after(600), { code: 'TUNNEL_PERMISSION', ran: [] });
    h.dump = live; // the sudoers rule fixed: the handshake is 605 s old
    assert.deepEqual(await h.after(0), { code: 'TUNNEL_STALE', ran: [DOWN, UP] });
    assert.deepEqual(h.lookups, ['hub.example.net']);
    const watchOnly = harness({ endpoint: null, restartCommand: null });
    assert.deepEqual(await watchOnly.after(600), { code: 'TUNNEL_STALE', ran: [] });
    assert.doesNotMatch(await watchOnly.metrics.render(), /tunnel_heal_actions_total/);
  });

  it('only an endpoint: the lookup at each step, never a restart', async () => {
    const h = harness({ restartCommand: null });
    assert.deepEqual(await h.after(181), { code: 'TUNNEL_STALE', ran: [] });
    assert.deepEqual(await h.after(10), { code: 'TUNNEL_STALE', ran: [] });
    assert.deepEqual(h.lookups, ['hub.example.net', 'hub.example.net']);
    assert.equal(await h.counted('endpoint', 'unchanged'), 2);
  });
});

describe('tunnel config: healing', () => {
  const parse = (tunnel: unknown): TunnelConfig => parseTunnel(ConfigNode.root({ tunnel }, 'relay.json').object('tunnel'));
  const refused = (tunnel: unknown, what: RegExp): void => assert.throws(() => parse(tunnel), (e: unknown) => e instanceof RelayError && e.code === 'CONFIG_INVALID' && what.test(e.message));

  it('defaults: no endpoint, no restart, 30 s before acting on a tunnel coming up, backoff 10 s to 600 s', () => {
    const t = parse({ interface: 'wg0' });
    assert.deepEqual([t.endpoint, t.restartCommand, t.healAfterSeconds, t.healBackoffSeconds, t.healBackoffCapSeconds, t.maxHandshakeAgeSeconds], [null, null, 30, 10, 600, 180]);
  });

  it('a restart command is one argv or a list of them; the endpoint is host:port', () => {
    assert.deepEqual(parse({ interface: 'wg0', restartCommand: ['sudo', '-n', 'wg-quick', 'up', 'wg0'] }).restartCommand, [['sudo', '-n', 'wg-quick', 'up', 'wg0']]);
    assert.deepEqual(parse({ interface: 'wg0', restartCommand: [['wg-quick', 'down', 'wg0'], ['wg-quick', 'up', 'wg0']] }).restartCommand, [['wg-quick', 'down', 'wg0'], ['wg-quick', 'up', 'wg0']]);
    for (const e of ['hub.example.net:51820', '203.0.113.5:51820', '[2001:db8::1]:51820']) assert.equal(parse({ interface: 'wg0', endpoint: e }).endpoint, e);
  });

  it('refuses what cannot be run or looked up, naming the key', () => {
    refused({ interface: 'wg0', restartCommand: 'wg-quick up wg0' }, /"tunnel\.restartCommand" must be an argv/);
    refused({ interface: 'wg0', restartCommand: [['wg-quick', 'up'], []] }, /"tunnel\.restartCommand" must be an argv/);
    refused({ interface: 'wg0', restartCommand: ['wg-quick', ''] }, /"tunnel\.restartCommand" must be an argv/);
    for (const e of ['hub.example.net', 'hub.example.net:0', 'hub.example.net:70000', '2001:db8::1:51820', 'a b:1']) refused({ interface: 'wg0', endpoint: e }, /"tunnel\.endpoint" must be the peer's host:port/);
    refused({ endpoint: 'hub.example.net:51820' }, /"tunnel\.endpoint" must be set only with tunnel\.interface/);
    refused({ restartCommand: ['wg-quick', 'up', 'wg0'] }, /"tunnel\.restartCommand" must be set only with tunnel\.interface/);
    refused({ interface: 'wg0', healBackoffSeconds: 60, healBackoffCapSeconds: 30 }, /"tunnel\.healBackoffCapSeconds" must be a number ≥ 60/);
  });
});
