// The tunnel heals itself, for real: wireguard-go in two network namespaces, the hub bound to its
// tunnel address and the relay reaching it only through the tunnel. 2,000 messages stream while the
// relay's interface is deleted five times (its restart command brings it back) and the hub's
// WireGuard address moves once to one only a fresh lookup of its name finds; every message reaches
// the webhook exactly once, in order, and the relay's /health says why the tunnel is down, and then up.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { hubFetch } from '../support/openapi-contract.js';
import { CliProcess } from '../support/processes.js';
import { ALICE, DM, RelayEnv, TOKEN } from '../support/relay-env.js';
import { WireGuardPair, wireguardMissing } from '../support/wireguard.js';

const missing = wireguardMissing();

type Health = { status: number; body: { status: string; components: Record<string, { state: string; reason: string | null; code?: string }> } };

async function until<T>(probe: () => Promise<T | null>, what: string, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The relay's restart command for the test: what `wg-quick down` then `up` do, with wireguard-go:
 * the interface deleted and made again from a config whose Endpoint is a name (`wg setconf` looks it
 * up, as wg-quick does). Each wireguard-go's pid goes to `pids` (the test ends them by pid).
 */
function restartScript(iface: string, conf: string, pids: string, address: string): string {
  return `#!/bin/sh
IFACE='${iface}' CONF='${conf}' PIDS='${pids}'
ip link del "$IFACE" 2>/dev/null
# An old wireguard-go unlinks its socket as it exits: wait until it has (gone, or a zombie: no cmdline).
if [ -f "$PIDS" ]; then
  for pid in $(cat "$PIDS"); do
    n=0
    while tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "wireguard-go $IFACE"; do
      n=$((n+1)); [ "$n" -gt 200 ] && { echo "wireguard-go $pid did not exit" >&2; exit 1; }
      sleep 0.025
    done
  done
fi
rm -f "/var/run/wireguard/$IFACE.sock"
WG_PROCESS_FOREGROUND=1 wireguard-go "$IFACE" </dev/null >/dev/null 2>&1 &
echo $! >> "$PIDS"
n=0
until [ -S "/var/run/wireguard/$IFACE.sock" ]; do
  n=$((n+1)); [ "$n" -gt 200 ] && { echo "wireguard-go made no socket" >&2; exit 1; }
  sleep 0.025
done
set -e
wg setconf "$IFACE" "$CONF"
ip addr add ${address} dev "$IFACE"
ip link set "$IFACE" up
`;
}

describe('a tunnel that heals itself (wireguard-go in two network namespaces)', { skip: missing === null ? false : `skipped: ${missing}` }, () => {
  it('2,000 messages while the relay\'s interface is deleted 5 times and the hub\'s address moves once: exactly once, in order; /health degraded with the reason, then ok', { timeout: 240_000 }, async () => {
    const env = new RelayEnv();
    const wg = new WireGuardPair(env.dir);
    const pids = join(env.dir, 'wireguard-go.pids');
    try {
      // The hub's end listens on 10.231.0.2:51820 (and, by a second path, is also reachable at 10.233.0.2).
      await wg.startB();
      const second = wg.addPath();
      const relayNet = wg.reach(wg.a);
      const hubNet = wg.reach(wg.b);
      const hubName = `hub-${randomBytes(3).toString('hex')}.imr.test`;
      wg.setHosts(wg.a, `10.231.0.2 ${hubName}\n`);

      // The relay's end, brought up by the same script its daemon runs to restart it.
      const conf = join(env.dir, 'relay-wg.conf');
      writeFileSync(conf, `[Interface]\nPrivateKey = ${readFileSync(wg.a.key, 'utf8').trim()}\n\n[Peer]\nPublicKey = ${wg.b.pub}\nAllowedIPs = ${wg.b.tunnelAddr}/32\nEndpoint = ${hubName}:51820\nPersistentKeepalive = 1\n`, { mode: 0o600 });
      const script = join(env.dir, 'restart-tunnel.sh');
      writeFileSync(script, restartScript(wg.a.iface, conf, pids, `${wg.a.tunnelAddr}/24`));
      chmodSync(script, 0o755);
      execFileSync('ip', ['netns', 'exec', wg.a.ns, script], { stdio: 'ignore' });

      // The hub binds its tunnel address; the relay dials it there (its only route: the tunnel).
      await env.prepare({ webhook: false });
      const hookPort = await env.receiver.start(0, hubNet.outside);
      const edit = (file: string, change: (c: Record<string, object>) => void): void => {
        const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, object>;
        change(c);
        writeFileSync(file, JSON.stringify(c));
      };
      edit(env.hubConfig, (c) => {
        c['listen'] = { host: wg.b.tunnelAddr, port: env.hubPort };
        c['api'] = { ...c['api'], host: hubNet.inside };
        c['webhooks'] = [{ name: 'main', url: `http://${hubNet.outside}:${hookPort}/hook`, secretFile: join(env.dir, 'keys', 'whsecret'), backoffBaseMs: 100, backoffCapMs: 1000 }];
      });
      edit(env.macConfig, (c) => {
        c['hub'] = { ...c['hub'], url: `ws://${wg.b.tunnelAddr}:${env.hubPort}` };
        c['health'] = { host: relayNet.inside, port: env.healthPort };
        // Limits a test can wait for: silent 3 s = stale (the keepalive and the link's heartbeats
        // make the hub heard every second), 1.5 s for a missing interface to come back by itself.
        c['tunnel'] = {
          interface: wg.a.iface, peer: wg.b.pub, checkSeconds: 0.25, maxHandshakeAgeSeconds: 3,
          endpoint: `${hubName}:51820`, restartCommand: [script], healAfterSeconds: 1.5, healBackoffSeconds: 4, healBackoffCapSeconds: 8,
        };
      });
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      env.hub = new CliProcess(['hub', '--config', env.hubConfig], {}, false, ['ip', 'netns', 'exec', wg.b.ns]);
      await env.hub.waitForLog(/^hub started$/);
      env.mac = new CliProcess(['run', '--config', env.macConfig], { FAKE_MESSAGES_SCENARIO: env.scenarioFile }, false, ['ip', 'netns', 'exec', wg.a.ns]);
      await env.mac.waitForLog(/^link up$/, 30_000);
      // The relay's namespace reaches the hub's link address through the WireGuard interface and no other way.
      assert.match(execFileSync('ip', ['-n', wg.a.ns, 'route', 'get', wg.b.tunnelAddr], { encoding: 'utf8' }), new RegExp(`\\bdev ${wg.a.iface}\\b`));

      const health = async (): Promise<Health> => {
        const r = await fetch(`http://${relayNet.inside}:${env.healthPort}/health`);
        return { status: r.status, body: await r.json() as Health['body'] };
      };
      // The hub's answers are checked against openapi.json (hubFetch); the Mac's /metrics is no part of that API.
      const metric = async (url: string, line: RegExp, get: (url: string, init: RequestInit) => Promise<Response> = fetch): Promise<number> => {
        const text = await (await get(url, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
        const m = line.exec(text);
        return m === null ? 0 : Number(m[1]);
      };
      const relayMetric = (line: RegExp): Promise<number> => metric(`http://${relayNet.inside}:${env.healthPort}/metrics`, line);
      const hubMetric = (line: RegExp): Promise<number> => metric(`http://${hubNet.inside}:${env.apiPort}/metrics`, line, hubFetch);
      const heal = (action: string, result: string): Promise<number> => relayMetric(new RegExp(`^imessage_relay_tunnel_heal_actions_total\\{action="${action}",result="${result}"\\} (\\d+)$`, 'm'));
      await until(async () => ((await health()).body.components['tunnel']!.state === 'ok' ? true : null), 'the tunnel up at start', 15_000);

      const guids: string[] = [];
      const write = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i += 10) {
          const n = Math.min(10, count - i);
          env.writer.db.transaction(() => { for (let j = 0; j < n; j++) guids.push(env.writer.insert({ chat: DM, handle: ALICE, text: `m${guids.length}` }).guid); })();
          await new Promise((r) => setTimeout(r, 50));
        }
      };

      const disruptions = ['delete', 'delete', 'move', 'delete', 'delete', 'delete'] as const;
      const quotas = [334, 334, 333, 333, 333, 333];
      for (const [k, what] of disruptions.entries()) {
        const writing = write(quotas[k]!); // messages keep arriving in chat.db through each outage
        const restarts = await heal('restart', 'ok');
        if (what === 'delete') {
          wg.ip(wg.a, 'link', 'del', wg.a.iface); // as a crashed wireguard-go or a `wg-quick down`
        } else {
          // The hub's machine gets a new address: the name now points there, and the old one is gone.
          wg.setHosts(wg.a, `${second.b} ${hubName}\n`);
          wg.ip(wg.b, 'addr', 'del', '10.231.0.2/24', 'dev', wg.b.veth);
        }
        const expected = what === 'delete' ? 'TUNNEL_NO_INTERFACE' : 'TUNNEL_STALE';
        const seen = new Set<string>();
        const down = await until(async () => {
          const h = await health();
          const t = h.body.components['tunnel']!;
          if (t.state !== 'ok') seen.add(`${t.state} ${t.code}`);
          return t.state === 'degraded' && t.code === expected ? h : null;
        }, `${what} #${k + 1}: /health degraded with ${expected}`, 20_000);
        assert.equal(down.status, 503);
        assert.notEqual(down.body.status, 'ok');
        const reason = down.body.components['tunnel']!.reason!;
        if (what === 'delete') assert.match(reason, new RegExp(`^WireGuard tunnel ${wg.a.iface}: WireGuard interface ${wg.a.iface} does not exist`));
        // Silent past the 3 s limit, still sending to the hub's old address.
        else assert.match(reason, new RegExp(`^WireGuard tunnel ${wg.a.iface}: (nothing received from 10\\.231\\.0\\.2:51820 for \\d+ s \\(last handshake \\d+ s ago\\)|last handshake with 10\\.231\\.0\\.2:51820 \\d+ s ago)`));
        await until(async () => ((await health()).body.components['tunnel']!.state === 'ok' ? true : null), `${what} #${k + 1}: the tunnel back up`, 30_000);
        assert.deepEqual([...seen].filter((s) => !/^degraded TUNNEL_(NO_INTERFACE|NO_HANDSHAKE|NO_PEER|STALE|WG_FAILED)$/.test(s)), [], `only tunnel-down verdicts while ${what} #${k + 1} lasted`);
        if (what === 'move') {
          assert.equal(await heal('endpoint', 'changed'), 1, 'the lookup found the new address and set it');
          assert.equal(await heal('restart', 'ok'), restarts, 'without a restart: the lookup alone mended it');
        } else {
          assert.ok(await heal('restart', 'ok') > restarts, `delete #${k + 1}: mended by the restart command`);
        }
        await writing;
      }

      assert.equal(guids.length, 2000);
      await waitFor(() => env.receiver.distinct().length >= 2000, '2,000 distinct deliveries', 90_000);
      // Nothing left anywhere that could still arrive: the relay's outbox and the hub's webhook queue are empty.
      await until(async () => (await relayMetric(/^imessage_relay_outbox_depth (\d+)$/m) === 0 && await hubMetric(/^imessage_relay_webhook_backlog (\d+)$/m) === 0 ? true : null), 'outbox and webhook backlog empty', 30_000);
      assert.equal(env.receiver.received.length, 2000, 'exactly once');
      assert.deepEqual(env.receiver.received.map((r) => r.body.event['guid']), guids, 'in order');
      assert.ok(env.receiver.received.every((r) => r.signatureOk));

      const lines = env.mac.lines;
      assert.ok(lines.filter((l) => l.msg === 'tunnel restarted').length >= 5, 'a restart for each deleted interface');
      const moved = lines.filter((l) => l.msg === 'tunnel endpoint moved');
      assert.deepEqual(moved.map((l) => [l['from'], l['address']]), [['10.231.0.2:51820', `${second.b}:51820`]]);
      assert.ok(lines.filter((l) => l.msg === 'tunnel healed').length >= 6, 'each outage ends with "tunnel healed"');
      assert.equal(await heal('restart', 'failed'), 0);
      await until(async () => ((await health()).body.status === 'ok' ? true : null), 'the relay healthy at the end', 15_000);
    } finally {
      await env.close();
      if (existsSync(pids)) {
        for (const pid of readFileSync(pids, 'utf8').split('\n').filter((p) => p !== '').map(Number)) {
          let cmd = '';
          try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { /* gone */ }
          if (cmd.startsWith('wireguard-go\0')) process.kill(pid, 'SIGTERM');
        }
      }
      await wg.close();
    }
  });
});
