// The sending path, hub API call → osascript started, with a zero-cost Messages (no process: the
// "script" writes the sent row straight into chat.db): latency p50/p99, and commands per second.
// The hub and the assistant calling it run in their own process (bench/send-hub-peer.ts), as they do
// on their own machine; times are compared on the wall clock with sub-millisecond precision.
import { NO_TUNNEL } from '../relay/config/tunnel-config.js';
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../relay/clock.js';
import { writeNewKeyFile } from '../relay/link/keys.js';
import { silentLogger } from '../relay/logger.js';
import { MacDaemon } from '../relay/mac/daemon.js';
import { MessagesDb } from '../relay/simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../relay/simulator/schema.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { percentile } from './support.js';

type Log = (name: string, value: number, unit: string) => void;
const DM = 'iMessage;-;+15555550123';
const LINK = { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 50, backoffCapMs: 500 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function sendBench(log: Log): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'imr-send-bench-'));
  const messages = new MessagesDb(join(home, 'chat.db'), [MINIMAL_CHATDB_SCHEMA]);
  messages.chat({ guid: DM, identifier: '+15555550123', participants: ['+15555550123'] });
  const hubKey = writeNewKeyFile(join(home, 'hub.key'));
  const relayKey = writeNewKeyFile(join(home, 'relay.key'));
  const token = 'bench-token-0123456789abcdef';
  const started = new Map<string, number>();
  const stagedSha = new Map<string, string>();
  const peer = fork(fileURLToPath(new URL('./send-hub-peer.ts', import.meta.url)),
    [JSON.stringify({ home, relayPublicKey: Buffer.from(relayKey.publicKey).toString('base64'), token, chat: DM })],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (t: string): Promise<Record<string, unknown>> => new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => { if (m['t'] === t) { peer.off('message', on); resolve(m); } };
    peer.on('message', on);
  });
  const { linkPort } = await next('ready') as { linkPort: number };
  const mac = new MacDaemon({
    clock: systemClock, logger: silentLogger(),
    runScript: async (name, args) => {
      if (name === 'send-file') {
        // A file send: note when, check the staged bytes, and write the row Messages would.
        const path = args['path']!;
        started.set(`file:${basename(path)}`, performance.timeOrigin + performance.now());
        stagedSha.set(basename(path), createHash('sha256').update(readFileSync(path)).digest('hex'));
        const row = messages.insert({ chat: DM, fromMe: true, handle: '+15555550123', text: '\uFFFC', isSent: true });
        messages.attach(row.rowid, { filename: path, name: basename(path), outgoing: true });
        return { ok: true };
      }
      started.set(args['text']!, performance.timeOrigin + performance.now());
      messages.insert({ chat: DM, fromMe: true, handle: '+15555550123', text: args['text']!, body: encodeAttributedBody(args['text']!), isSent: true });
      return { ok: true };
    },
    config: {
      chatDb: messages.path, dataDir: join(home, 'relay'), keyFile: join(home, 'relay.key'),
      hubUrl: `ws://127.0.0.1:${linkPort}`, hubPublicKey: Buffer.from(hubKey.publicKey).toString('base64'),
      health: { host: '127.0.0.1', port: 0 }, reader: { settleMs: 500, ageFenceMinutes: 15, pollIntervalMs: 1000 },
      link: { ...LINK, window: 5000, batch: 500 }, outbox: { degradedDepth: 100_000, degradedAgeSeconds: 600 },
      sender: { enabled: true, osascript: '/nonexistent', timeoutMs: 5000, perSecond: 100_000, perChatPerSecond: 100_000, confirmMs: 5000, followMs: 1000 },
      attachments: { stagingDir: join(home, 'staging'), maxBytes: 100 * 1024 * 1024, waitSeconds: 60, upload: true },
      quietMinutes: 0, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
    },
  });
  await mac.start();
  try {
    while (mac.health().components['link']?.state !== 'ok') await sleep(10);
    const latencies: number[] = [];
    for (let i = 0; i < 300; i++) {
      const text = `latency probe ${i}`;
      const posted = next('posted');
      peer.send({ t: 'probe', text });
      const { t0 } = await posted as { t0: number };
      while (!started.has(text)) await sleep(0.2);
      latencies.push(started.get(text)! - t0);
      await sleep(5);
    }
    latencies.splice(0, 20); // warm-up
    log('send.api_to_osascript_p50_ms', percentile(latencies, 50), 'ms');
    log('send.api_to_osascript_p99_ms', percentile(latencies, 99), 'ms');
    const n = 1000;
    const done = next('burst_done');
    peer.send({ t: 'burst', n });
    const { ms } = await done as { ms: number };
    log('send.commands_per_s_zero_cost_osascript', n / (ms / 1000), 'commands/s');

    // Files, 20 MiB each way: upload at the hub → chunks over the link → staged and checked → osascript
    // started; and an incoming attachment's file → chunks to the hub → served by GET /v1/attachments.
    const size = 20 * 1024 * 1024;
    const out: number[] = [];
    for (let i = 0; i < 3; i++) {
      const name = `bench-${i}.bin`;
      const posted = next('file_posted');
      peer.send({ t: 'file', n: size, text: name });
      const { t0, sha256 } = await posted as { t0: number; sha256: string };
      while (!started.has(`file:${name}`)) await sleep(5);
      if (stagedSha.get(name) !== sha256) throw new Error('the staged file does not match the upload');
      out.push(started.get(`file:${name}`)! - t0);
    }
    const outMs = percentile(out, 50);
    log('files.out_20mib_api_to_osascript_ms', outMs, 'ms');
    log('files.out_mib_per_s', 20 / (outMs / 1000), 'MiB/s');
    const inn: number[] = [];
    for (let i = 0; i < 3; i++) {
      const bytes = randomBytes(size);
      const path = join(home, `incoming-${i}.mov`);
      writeFileSync(path, bytes);
      const guid = `at_0_BENCH_${i}`;
      const fetched = next('fetched');
      const t0 = performance.timeOrigin + performance.now();
      const row = messages.insert({ chat: DM, handle: '+15555550123', text: '\uFFFC' });
      messages.attach(row.rowid, { guid, filename: path, name: `incoming-${i}.mov`, bytes: size });
      peer.send({ t: 'fetch', text: guid });
      const { t1, sha256 } = await fetched as { t1: number; sha256: string };
      if (sha256 !== createHash('sha256').update(bytes).digest('hex')) throw new Error('the served attachment does not match the file');
      inn.push(t1 - t0);
    }
    const inMs = percentile(inn, 50);
    log('files.in_20mib_row_to_served_ms', inMs, 'ms (includes the 500 ms settle window)');
    log('files.in_mib_per_s_after_settle', 20 / ((inMs - 500) / 1000), 'MiB/s');
  } finally {
    await mac.stop();
    const exited = new Promise((r) => peer.once('exit', r));
    peer.send({ t: 'stop' });
    await exited;
    messages.close();
    rmSync(home, { recursive: true, force: true });
  }
}
