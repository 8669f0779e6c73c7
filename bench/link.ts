// The link alone: events carried by the sealed channel (handshake, tweetnacl frames, acks per batch)
// beside a plain ws carrying the same JSON messages with the same acks: no crypto, no store. The hub
// end runs in its own process (bench/link-peer.ts), as it does on its own machine.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { systemClock } from '../relay/clock.js';
import { DEFAULT_CHANNEL_OPTIONS, type SealedChannel } from '../relay/link/channel.js';
import { LinkClient } from '../relay/link/client.js';
import { encodeItems } from '../relay/link/codec.js';
import { generateKeyPair } from '../relay/link/keys.js';
import { silentLogger } from '../relay/logger.js';

type Log = (name: string, value: number, unit: string) => void;

const N = 100_000;
const BATCH = 500;
const WINDOW = 5000;
const body = JSON.stringify({ kind: 'message', rowid: 1, guid: '0C9E5A7B-1F2D-4C3B-9E8A-7D6C5B4A3F21', date: '2026-11-26T13:10:59.429Z', service: 'iMessage', sender: '+15555550123', chat: { guid: 'iMessage;-;+15555550123', identifier: '+15555550123', name: null, is_group: false, participants: ['+15555550123'] }, backlog: false, text: 'A typical message of a few words, as people write them.', attachments: [], reply_to: null, mentions: [], decode_error: null });
type Batch = Array<{ seq: number; type: 'event'; id: string; body: string }>;
let batches: Batch[] = [];

/** Sends all batches keeping at most WINDOW items unacknowledged; resolves with events/s. */
function drive(send: (i: number) => void, onAck: (fn: (seq: number) => void) => void): Promise<number> {
  return new Promise((resolve) => {
    let next = 0;
    let acked = 0;
    const t0 = performance.now();
    const fill = (): void => {
      while (next < batches.length && next * BATCH - acked < WINDOW) send(next++);
    };
    onAck((seq) => {
      acked = seq;
      if (acked >= N) resolve(N / ((performance.now() - t0) / 1000));
      else fill();
    });
    fill();
  });
}

/** Starts the hub end in a child process; resolves with its port and a way to stop it. */
async function peer(args: string[]): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [...(process.env.PEER_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', fileURLToPath(new URL('./link-peer.ts', import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  return { port, stop: () => child.kill() };
}

async function sealed(): Promise<number> {
  const hubKeys = generateKeyPair();
  const relayKeys = generateKeyPair();
  const logger = silentLogger();
  const server = await peer(['sealed', Buffer.from(hubKeys.secretKey).toString('base64'), Buffer.from(relayKeys.publicKey).toString('base64')]);
  const port = server.port;
  const client = await new Promise<SealedChannel>((resolve) => {
    const c = new LinkClient({ url: `ws://127.0.0.1:${port}`, keys: relayKeys, hubPublicKey: hubKeys.publicKey, clock: systemClock, logger, channel: DEFAULT_CHANNEL_OPTIONS, onChannel: resolve });
    c.start();
  });
  let ackFn: (seq: number) => void = () => undefined;
  client.attach({ message: (m) => { if (m.t === 'ack') ackFn(m.seq); }, close: () => undefined });
  const rate = await drive((i) => client.sendEncoded(encodeItems(batches[i]!)), (fn) => { ackFn = fn; });
  client.close();
  server.stop();
  return rate;
}

async function plain(): Promise<number> {
  const server = await peer(['plain']);
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}`, { perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  let ackFn: (seq: number) => void = () => undefined;
  ws.on('message', (d) => ackFn((JSON.parse(String(d)) as { seq: number }).seq));
  const rate = await drive((i) => ws.send(encodeItems(batches[i]!)), (fn) => { ackFn = fn; });
  ws.close();
  server.stop();
  return rate;
}

export async function linkBench(log: Log): Promise<void> {
  batches = Array.from({ length: N / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, i) => ({ seq: b * BATCH + i + 1, type: 'event' as const, id: `message:${b * BATCH + i}`, body })));
  await plain();
  await sealed();
  // Interleaved rounds, median of each: the shared VM's load changes from one second to the next,
  // and one unlucky round of either side would otherwise decide the ratio.
  const ps: number[] = [];
  const ss: number[] = [];
  for (let round = 0; round < 5; round++) {
    ps.push(await plain());
    ss.push(await sealed());
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p = median(ps);
  const s = median(ss);
  log('link.sealed_events_per_s', s, 'events/s');
  log('link.plain_ws_events_per_s', p, 'events/s');
  log('link.ratio_plain_over_sealed', p / s, '×');
  log('link.sealed_mb_per_s', (s * body.length) / 1e6, 'MB/s');
}
