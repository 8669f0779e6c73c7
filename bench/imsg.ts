// The `imsg-relay` command as OpenClaw runs it (bin/imsg-relay → dist), against a compiled hub + Mac
// relay + simulated Messages: wall time per spawn of `status --json` and of the probe request; new
// chat.db row → `message` line on stdout; `send` request → osascript started.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImsgEnv } from '../test/support/imsg-env.js';
import { runImsg } from '../test/support/imsg-process.js';
import { FAKE_OSASCRIPT } from '../test/support/fake-messages.js';
import { percentile } from './support.js';

type Log = (name: string, value: number, unit: string) => void;
const SETTLE_MS = 500;
const SPAWNS = 50;

/** Wall time of one run of `file args` to its exit. */
function spawnMs(file: string, args: readonly string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => spawn(file, args, { stdio: 'ignore' }).on('close', () => resolve(performance.now() - t0)));
}

/**
 * "osascript started" is stamped by a wrapper put in osascript's place: the wall clock as its first
 * act, then exec of the fake Messages. A compiled one (cc) starts in about a millisecond; bash, the
 * fallback where no C compiler is installed, takes ~11 ms here to reach its first line, which is
 * the stamp's cost, not the relay's: its own start is measured and logged beside the figures.
 */
function osascriptStamp(dir: string, log: string): { wrapper: string; clock: string } {
  writeFileSync(log, '');
  const wrapper = join(dir, 'osascript');
  const source = join(dir, 'osascript-stamp.c');
  writeFileSync(source, `#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct timespec t; clock_gettime(CLOCK_REALTIME, &t);
  FILE *f = fopen(${JSON.stringify(log)}, "a"); if (f) { fprintf(f, "%lld.%06ld\\n", (long long)t.tv_sec, t.tv_nsec / 1000); fclose(f); }
  argv[0] = ${JSON.stringify(FAKE_OSASCRIPT)}; execv(argv[0], argv); return 127;
}
`);
  const cc = spawnSync('cc', ['-O2', '-o', wrapper, source], { encoding: 'utf8' });
  if (cc.status === 0) return { wrapper, clock: 'compiled' };
  writeFileSync(wrapper, `#!/bin/bash\nprintf '%s\\n' "$EPOCHREALTIME" >> '${log}'\nexec '${FAKE_OSASCRIPT}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return { wrapper, clock: 'bash' };
}

/** Median ms from spawn() of the wrapper (here, with no relay) to its stamp: what the stamp itself costs. */
async function stampCost(wrapper: string, log: string): Promise<number> {
  const lines = (): string[] => readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
  const costs: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = Date.now();
    await new Promise((resolve) => execFile(wrapper, ['--stamp-only'], { env: { ...process.env, FAKE_MESSAGES_SCENARIO: '/nonexistent' } }, resolve));
    costs.push(Number(lines().at(-1)) * 1000 - t0);
  }
  writeFileSync(log, '');
  return percentile(costs, 50);
}

/** Rows written for the row → line figure (its p99 is the 2nd slowest of 100, not the slowest of 40). */
const ROWS = 100;

export async function imsgBench(log: Log): Promise<void> {
  const env = new ImsgEnv();
  env.relay.compiled = true;
  const started = join(env.dir, 'osascript-started.log');
  const { wrapper, clock } = osascriptStamp(env.dir, started);
  log('imsg.osascript_stamp_start_ms_p50', await stampCost(wrapper, started), `ms (spawn → the ${clock} wrapper's clock, no relay: included in the send figures)`);
  try {
    await env.start({ relay: { macExtra: { reader: { settleMs: SETTLE_MS, pollIntervalMs: 1000 } } } });
    const mac = JSON.parse(readFileSync(env.relay.macConfig, 'utf8')) as { sender: Record<string, unknown>; log?: Record<string, unknown> };
    mac.sender['osascript'] = wrapper;
    // debug: the relay logs the moment it starts osascript ("osascript run", pino's ms wall clock).
    mac.log = { ...mac.log, level: 'debug' };
    writeFileSync(env.relay.macConfig, JSON.stringify(mac));
    await env.relay.mac!.stop();
    await env.relay.startMac();
    await env.relay.mac!.waitForLog(/^link up$/);

    // Interleaved with a bare `node -e ''` so both see the same machine load: the command's own cost is the difference.
    const status: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < SPAWNS; i++) {
      status.push((await runImsg(['status', '--json'], { IMSG_RELAY_CONFIG: env.configFile })).ms);
      bare.push(await spawnMs(process.execPath, ['-e', '']));
    }
    log('imsg.status_json_spawn_ms_p50', percentile(status, 50), 'ms (target ≤ 150)');
    log('imsg.status_json_spawn_ms_p99', percentile(status, 99), 'ms');
    log('imsg.node_bare_spawn_ms_p50', percentile(bare, 50), 'ms (node -e \'\', same moments: the floor)');
    log('imsg.node_bare_spawn_ms_p99', percentile(bare, 99), 'ms');

    const probes: number[] = [];
    for (let i = 0; i < SPAWNS; i++) {
      const p = env.spawn();
      await p.request('chats.list', { limit: 1 });
      p.child.stdin!.end();
      await p.exited;
      probes.push(performance.now() - p.spawnedAt);
    }
    // The hub's own part of the probe (it asks the Mac over the link), from this process.
    const hubChats: number[] = [];
    for (let i = 0; i < SPAWNS; i++) {
      const t0 = performance.now();
      await (await env.relay.api('/v1/chats?limit=1')).json();
      hubChats.push(performance.now() - t0);
    }
    log('imsg.hub_chats_ms_p50', percentile(hubChats, 50), 'ms (GET /v1/chats?limit=1 alone: the hub asking the Mac)');
    log('imsg.probe_spawn_ms_p50', percentile(probes, 50), 'ms (spawn → answer → stdin EOF → exit; target ≤ 150)');
    log('imsg.probe_spawn_ms_p99', percentile(probes, 99), 'ms');

    const watch = env.spawn();
    await watch.subscribe({ attachments: false, include_reactions: true });
    const rowToLine: number[] = [];
    for (let i = 0; i < ROWS; i++) {
      const t0 = performance.now();
      const row = env.inbound(`bench ${i}`);
      await watch.message(row.rowid);
      rowToLine.push(performance.now() - t0);
    }
    if (process.env['BENCH_DEBUG'] === '1') process.stderr.write(`row→line, slowest: ${rowToLine.sort((a, b) => b - a).slice(0, 8).map((x) => x.toFixed(1)).join(' ')}\n`);
    log('imsg.settle_ms', SETTLE_MS, 'ms (the reader settle window)');
    log('imsg.row_to_line_ms_p50', percentile(rowToLine, 50), 'ms');
    log('imsg.row_to_line_ms_p99', percentile(rowToLine, 99), 'ms');
    log('imsg.row_to_line_p99_over_settle_ms', percentile(rowToLine, 99) - SETTLE_MS, 'ms (target ≤ 30)');

    const sender = env.spawn();
    const toOsascript: number[] = [];
    const direct: number[] = [];
    /** ms from `t0` to the start of the osascript run after `before` runs. */
    const osascriptAfter = (before: number, t0: number): number => Number(readFileSync(started, 'utf8').split('\n').filter((l) => l !== '')[before]) * 1000 - t0;
    const runs = (): number => readFileSync(started, 'utf8').split('\n').filter((l) => l !== '').length;
    const relayRuns = (): Array<{ time: string }> => env.relay.mac!.lines.filter((l) => l.msg === 'osascript run') as unknown as Array<{ time: string }>;
    const toCall: number[] = [];
    const WARM_UP = 5; // the first sends open connections and compile the send path in each process: not counted
    for (let i = 0; i < WARM_UP + 30; i++) {
      // Through the command, then (same moment, for comparison) the hub API called directly.
      let before = runs();
      const calls = relayRuns().length;
      let t0 = Date.now(); // the wall clock, as bash's EPOCHREALTIME (performance.timeOrigin drifts from it in a long run on this VM)
      const r = await sender.request('send', { text: `bench send ${i}`, service: 'auto', region: 'US', transport: 'auto', chat_id: 7 }, 60_000);
      if (r.error !== undefined) throw new Error(`send failed: ${JSON.stringify(r.error)}`);
      if (i >= WARM_UP) toOsascript.push(osascriptAfter(before, t0));
      const call = relayRuns()[calls];
      if (call === undefined) throw new Error('the relay logged no "osascript run" for a send it confirmed');
      if (i >= WARM_UP) toCall.push(Date.parse(call.time) - t0); // pino's ISO time, ms
      before = runs();
      t0 = Date.now();
      const res = await env.relay.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: 7, text: `bench direct ${i}`, wait: 60 }) });
      if (res.status !== 200) throw new Error(`direct send answered ${res.status}`);
      await res.arrayBuffer();
      if (i >= WARM_UP) direct.push(osascriptAfter(before, t0));
    }
    log('imsg.hub_api_send_to_osascript_ms_p50', percentile(direct, 50), 'ms (POST /v1/messages from this process, no command: the path after it)');
    log('imsg.send_to_osascript_ms_p50', percentile(toOsascript, 50), 'ms');
    log('imsg.send_to_osascript_ms_p99', percentile(toOsascript, 99), 'ms (to osascript\'s first instruction: includes this machine\'s process start, the stamp figure above)');
    log('imsg.send_to_osascript_call_ms_p50', percentile(toCall, 50), 'ms (to the relay starting osascript: its "osascript run" log line)');
    log('imsg.send_to_osascript_call_ms_p99', percentile(toCall, 99), 'ms (target ≤ 20)');
    await Promise.all([watch.close(), sender.close()]);
  } finally {
    await env.stop();
  }
}
