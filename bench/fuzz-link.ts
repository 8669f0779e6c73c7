// The link fuzzer, hub side: mutated WebSocket frames and sealed frames (bit flips, truncation,
// length fields, header bits, reordering, replays, fragments) written from a raw socket in every
// handshake state. `fuzzHubLink` runs N cases against a hub (the test runs a few thousand);
// `node --import tsx bench/fuzz-link.ts [cases]` (and `npm run fuzz`) runs 200,000 against a hub
// and a real relay as child processes, and fails if either exits or the relay stops flowing.
import { pathToFileURL } from 'node:url';
import type { KeyPair } from '../relay/link/keys.js';
import { CLIENT_HELLO, encodeHello } from '../relay/link/handshake.js';
import { encodeMessage, type LinkMessage } from '../relay/link/codec.js';
import { waitFor } from '../test/support/chatdb-env.js';
import { mulberry32 } from '../test/support/fuzz.js';
import { NO_HANDSHAKE_LIMITS, hubLink, pinRelay, relayKeys } from '../test/support/hub-edits.js';
import type { CliProcess } from '../test/support/processes.js';
import { ALICE, DM, RelayEnv } from '../test/support/relay-env.js';
import { Op, RawWs, encodeFrame, rawHandshake, closePayload, upgradeRequest, type RawHandshake } from '../test/support/raw-ws-frames.js';

/** Where a case starts writing its mutations. */
export type FuzzState = 'upgrade' | 'fresh' | 'refused' | 'answered' | 'impostor' | 'welcomed';
const STATES: ReadonlyArray<readonly [FuzzState, number]> = [['upgrade', 8], ['fresh', 27], ['refused', 10], ['answered', 15], ['impostor', 10], ['welcomed', 30]];

export interface LinkFuzzTarget {
  readonly port: number;
  /** Relay keys the hub pins, one per worker (proven sessions of one key replace each other). */
  readonly keys: readonly KeyPair[];
  /** A pinned relay's public key whose secret the fuzzer does not hold (the real relay's). */
  readonly impostorOf: Uint8Array;
  /** False once the hub has exited: the run stops and fails. */
  readonly alive: () => boolean;
}

export interface LinkFuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** Called every 1,000 cases. */
  readonly progress?: (done: number) => void;
  /** A case the hub has not closed this long after our FIN counts as stuck (default 15 s). */
  readonly caseTimeoutMs?: number;
}

export interface LinkFuzzReport {
  cases: number;
  seconds: number;
  states: Record<string, number>;
  mutations: Record<string, number>;
  /** Close codes the hub sent (none: it closed without one, or we reset first). */
  closeCodes: Record<string, number>;
  /** Cases whose connection the hub did not close in time. */
  stuck: number[];
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const bytes = (r: Rand, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(r, 256)));
const LENGTHS = [0n, 1n, 68n, 69n, 125n, 126n, 127n, 65535n, 65536n, 1n << 20n, (1n << 20n) + 1n, 1n << 31n, 1n << 32n, 1n << 40n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n];

function flipBits(r: Rand, b: Buffer, n: number): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < n && out.length > 0; i++) {
    const at = int(r, out.length);
    out[at] = out[at]! ^ (1 << int(r, 8));
  }
  return out;
}

/** A payload's way onto the wire: usually one good frame, else a frame with a broken header or bytes. */
function wire(r: Rand, payload: Buffer, count: (m: string) => void, opcode: number = Op.Binary): Buffer {
  const m = int(r, 12);
  if (m <= 4) { count('frame'); return encodeFrame({ opcode, payload }); }
  if (m === 5) {
    count('fragments');
    const cuts = 1 + int(r, 4);
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < cuts; i++) {
      const end = i === cuts - 1 ? payload.length : Math.min(payload.length, at + int(r, payload.length + 1));
      parts.push(encodeFrame({ opcode: i === 0 ? opcode : Op.Continuation, fin: i === cuts - 1, payload: payload.subarray(at, end) }));
      if (r() < 0.2) parts.push(encodeFrame({ opcode: Op.Ping, payload: bytes(r, int(r, 10)) }));
      at = end;
    }
    return Buffer.concat(parts);
  }
  if (m === 6) { count('length field'); return encodeFrame({ opcode, payload, declaredLength: pick(r, LENGTHS), lengthForm: pick(r, [undefined, 7, 16, 64] as const) }); }
  if (m === 7) {
    count('header bits');
    return encodeFrame({ opcode: r() < 0.5 ? int(r, 16) : opcode, payload, fin: r() < 0.8, rsv: r() < 0.5 ? int(r, 8) : 0, mask: r() < 0.3 ? null : undefined });
  }
  const good = encodeFrame({ opcode, payload });
  if (m === 8) { count('frame bit flips'); return flipBits(r, good, 1 + int(r, 4)); }
  if (m === 9) { count('frame truncated'); return good.subarray(0, int(r, good.length)); }
  if (m === 10) { count('control frame'); return encodeFrame(pick(r, [{ opcode: Op.Ping, payload: bytes(r, int(r, 130)) }, { opcode: Op.Pong, payload: bytes(r, int(r, 10)) }, { opcode: Op.Close, payload: r() < 0.5 ? closePayload(int(r, 5000), bytes(r, int(r, 10))) : bytes(r, int(r, 3)) }])); }
  count('frame spliced');
  const at = int(r, good.length);
  return Buffer.concat([good.subarray(0, at), r() < 0.5 ? bytes(r, int(r, 16)) : good.subarray(at, at + int(r, 16)), good.subarray(at)]);
}

/** Hello-shaped payloads: good ones, unknown keys, low-order points, wrong version, type or length. */
function helloPayload(r: Rand, t: LinkFuzzTarget, key: KeyPair, count: (m: string) => void): Buffer {
  const eph = bytes(r, 32); // any 32 bytes are a public key; the hub's DH work is the same
  const m = int(r, 8);
  if (m === 0) { count('hello'); return encodeHello(CLIENT_HELLO, eph, key.publicKey); }
  if (m === 1) { count('hello: unknown key'); return encodeHello(CLIENT_HELLO, eph, bytes(r, 32)); }
  if (m === 2) { count('hello: impostor'); return encodeHello(CLIENT_HELLO, eph, t.impostorOf); }
  if (m === 3) {
    count('hello: low-order point');
    const low = pick(r, [Buffer.alloc(32), Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]), Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'), Buffer.alloc(32, 0xff)]);
    return r() < 0.5 ? encodeHello(CLIENT_HELLO, low, key.publicKey) : encodeHello(CLIENT_HELLO, eph, low);
  }
  if (m === 4) { count('hello bit flips'); return flipBits(r, encodeHello(CLIENT_HELLO, eph, key.publicKey), 1 + int(r, 3)); }
  if (m === 5) { count('hello truncated or extended'); const h = encodeHello(CLIENT_HELLO, eph, key.publicKey); return r() < 0.5 ? h.subarray(0, int(r, h.length)) : Buffer.concat([h, bytes(r, 1 + int(r, 8))]); }
  if (m === 6) { count('hello: wrong version or type'); const h = encodeHello(CLIENT_HELLO, eph, key.publicKey); h[3 + int(r, 2)] = int(r, 256); return h; }
  count('random bytes');
  return bytes(r, int(r, 200));
}

const ITEM = (seq: number): LinkMessage => ({ t: 'items', items: [{ seq, type: 'event', id: `message:FUZZ-${seq}`, body: { kind: 'message', guid: `FUZZ-${seq}`, rowid: seq, date: null, service: 'iMessage', sender: '+1555', chat: null, backlog: false, text: 'fuzz', attachments: [], reply_to: null, mentions: [], decode_error: null } }] });

/** A message for a sealed frame: good ones in and out of place, and bytes that are not one. */
function messageBytes(r: Rand): Buffer {
  const m = int(r, 12);
  const msgs: LinkMessage[] = [
    { t: 'hello', v: 1, agent: 'fuzz', store: 'fuzz-store', cmd_acked: 0 }, ITEM(1 + int(r, 5)), { t: 'cmd_ack', seq: int(r, 3) },
    { t: 'ping', n: int(r, 9) }, { t: 'pong', n: 1 }, { t: 'bye', reason: 'fuzz' }, { t: 'welcome', v: 1, acked: 0, account: 'x' }, { t: 'hello', v: 2, agent: 'fuzz', store: 's', cmd_acked: 0 },
  ];
  if (m < msgs.length) return Buffer.from(encodeMessage(msgs[m]!));
  return pick(r, [Buffer.from('{"t":"items","items":[{"seq":-1}]}'), Buffer.from('{'), Buffer.from('[]'), Buffer.from('{"t":"hello","v":1,"agent":1}'),
    Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`), bytes(r, int(r, 64)), Buffer.from([0xff, 0xfe]), Buffer.from('{"t":"cmd_ack","seq":1e308}')]);
}

/** Sealed-frame moves once the keys are agreed: good, tampered, replayed, reordered, skipped, in parts. */
function sealedMove(r: Rand, h: RawHandshake, sent: Buffer[], count: (m: string) => void): Buffer[] {
  const seal = (plain: Buffer): Buffer => { const f = Buffer.from(h.cipher.seal(plain)); sent.push(f); return f; };
  const whole = (): Buffer => seal(Buffer.concat([Buffer.from([0]), messageBytes(r)]));
  const m = int(r, 9);
  if (m <= 2) { count('sealed'); return [whole()]; }
  if (m === 3) { count('sealed bit flips'); return [flipBits(r, whole(), 1 + int(r, 3))]; }
  if (m === 4) { count('sealed truncated or extended'); const f = whole(); return [r() < 0.5 ? f.subarray(0, int(r, f.length)) : Buffer.concat([f, bytes(r, 1 + int(r, 8))])]; }
  if (m === 5) { count('replay'); return sent.length > 0 ? [pick(r, sent)] : [whole()]; }
  if (m === 6) { count('reordered'); const a = whole(); const b = whole(); return [b, a]; }
  if (m === 7) { count('skipped'); whole(); return [whole()]; }
  count('sealed parts');
  const msg = messageBytes(r);
  const cut = int(r, msg.length + 1);
  const flags = pick(r, [[1, 2], [1, 1], [2, 2], [1, 0], [int(r, 256), 2]]);
  return [seal(Buffer.concat([Buffer.from([flags[0]!]), msg.subarray(0, cut)])), seal(Buffer.concat([Buffer.from([flags[1]!]), msg.subarray(cut)]))];
}

async function runCase(i: number, seed: number, t: LinkFuzzTarget, key: KeyPair, report: LinkFuzzReport, timeoutMs: number): Promise<void> {
  const r = mulberry32((seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);
  const count = (m: string): void => { report.mutations[m] = (report.mutations[m] ?? 0) + 1; };
  let roll = int(r, 100);
  const state = STATES.find(([, w]) => (roll -= w) < 0)![0];
  report.states[state] = (report.states[state] ?? 0) + 1;
  let c: RawWs;
  if (state === 'upgrade') {
    const req = upgradeRequest('127.0.0.1', t.port);
    const m = int(r, 3);
    count(['upgrade bit flips', 'upgrade truncated', 'upgrade then frames'][m]!);
    c = await RawWs.open(t.port, { noWait: true, request: m === 0 ? flipBits(r, req, 1 + int(r, 6)) : m === 1 ? req.subarray(0, int(r, req.length)) : req });
    if (m === 2) c.write(wire(r, helloPayload(r, t, key, count), count));
  } else {
    c = await RawWs.open(t.port);
    let h: RawHandshake | null = null;
    if (state === 'refused') {
      c.sendBinary(encodeHello(CLIENT_HELLO, bytes(r, 32), bytes(r, 32)));
      await c.until(() => c.closeCode !== null, 'the refusal', timeoutMs);
    } else if (state === 'answered' || state === 'welcomed') {
      h = await rawHandshake(c, key);
    } else if (state === 'impostor') {
      h = await rawHandshake(c, { publicKey: t.impostorOf, secretKey: bytes(r, 32) });
    }
    const sent: Buffer[] = [];
    if (state === 'welcomed' && h !== null) {
      const hello = h.seal({ t: 'hello', v: 1, agent: 'fuzz', store: `fuzz-${key.publicKey[0]}`, cmd_acked: 0 });
      sent.push(hello);
      c.sendBinary(hello);
      await c.until(() => h!.opened().some((m) => m.t === 'welcome'), 'welcome', timeoutMs);
    }
    const moves = 1 + int(r, 4);
    for (let k = 0; k < moves; k++) {
      if (h !== null && r() < 0.75) for (const f of sealedMove(r, h, sent, count)) c.write(wire(r, f, count, r() < 0.05 ? Op.Text : Op.Binary));
      else c.write(wire(r, helloPayload(r, t, key, count), count, r() < 0.1 ? Op.Text : Op.Binary));
    }
  }
  const end = int(r, 4);
  if (end === 0) {
    count('end: reset');
    c.socket.resetAndDestroy();
    return;
  }
  if (end === 1) { count('end: close frame'); c.send({ opcode: Op.Close, payload: closePayload(1000) }); }
  else count('end: FIN');
  c.socket.end();
  try {
    await c.until(() => false, 'the hub to close', timeoutMs);
  } catch {
    report.stuck.push(i);
    c.destroy();
  }
  const code = String(c.closeCode ?? 'none');
  report.closeCodes[code] = (report.closeCodes[code] ?? 0) + 1;
}

/**
 * Runs `cases` fuzz cases against a hub, one worker per key. Each case is fixed by (seed, index),
 * whatever the interleaving. Throws as soon as the hub has exited or a connection is refused.
 */
export async function fuzzHubLink(t: LinkFuzzTarget, opts: LinkFuzzOptions): Promise<LinkFuzzReport> {
  const report: LinkFuzzReport = { cases: 0, seconds: 0, states: {}, mutations: {}, closeCodes: {}, stuck: [] };
  const t0 = performance.now();
  let next = 0;
  const worker = async (key: KeyPair): Promise<void> => {
    while (next < opts.cases) {
      const i = next++;
      if (!t.alive()) throw new Error(`the hub exited (before case ${i}, seed ${opts.seed})`);
      try {
        await runCase(i, opts.seed, t, key, report, opts.caseTimeoutMs ?? 15_000);
      } catch (err) {
        throw new Error(`case ${i} (seed ${opts.seed}): ${(err as Error).message}; hub ${t.alive() ? 'alive' : 'exited'}`);
      }
      report.cases++;
      if (report.cases % 1000 === 0) opts.progress?.(report.cases);
    }
  };
  await Promise.all(t.keys.map(worker));
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** A hub and a real relay as child processes, with `workers` more relay keys pinned for the fuzzer. */
export interface FuzzEnv {
  readonly env: RelayEnv;
  readonly target: LinkFuzzTarget;
  /** Writes a message into chat.db and resolves with the time it took to reach the webhook receiver. */
  goodMessage(timeoutMs?: number): Promise<number>;
  /** What is wrong with the hub or the relay now (exited, link lost), or [] . */
  problems(): string[];
}

export async function startFuzzEnv(workers: number): Promise<FuzzEnv> {
  const env = new RelayEnv();
  await env.prepare();
  const keys = Array.from({ length: workers }, (_, i) => pinRelay(env, `fuzz${i}`));
  hubLink(env, NO_HANDSHAKE_LIMITS);
  env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
  await env.startLinked();
  const exited = (p: CliProcess | null): boolean => p === null || p.child.exitCode !== null || p.child.signalCode !== null;
  let n = 0;
  return {
    env,
    target: { port: env.hubPort, keys, impostorOf: relayKeys(env).publicKey, alive: () => !exited(env.hub) },
    async goodMessage(timeoutMs = 30_000) {
      const t0 = Date.now();
      const row = env.writer.insert({ chat: DM, handle: ALICE, text: `good ${++n}` });
      await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === row.guid), `good message ${n} at the webhook`, timeoutMs);
      return Date.now() - t0;
    },
    problems() {
      const out: string[] = [];
      if (exited(env.hub)) out.push(`the hub exited (${env.hub?.child.exitCode ?? env.hub?.child.signalCode}): ${env.hub?.stderr.slice(0, 2000)}`);
      if (exited(env.mac)) out.push(`the relay exited (${env.mac?.child.exitCode ?? env.mac?.child.signalCode}): ${env.mac?.stderr.slice(0, 2000)}`);
      const ups = env.mac?.lines.filter((l) => l.msg === 'link up').length ?? 0;
      if (ups !== 1) out.push(`the relay's link went up ${ups} times (it should never have dropped)`);
      return out;
    },
  };
}

/** Good messages, one after the other, while `running()`: their latencies (throws if one is lost). */
export async function keepFlowing(f: FuzzEnv, running: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (running()) {
    latencies.push(await f.goodMessage());
    await new Promise((r) => setTimeout(r, 250));
  }
  return latencies;
}

/** `npm run fuzz`: the long run. Exit code 1 when the hub or relay exited, a case stuck, or flow stopped. */
export async function main(cases: number, seed = Number(process.env['FUZZ_SEED'] ?? 1)): Promise<void> {
  const f = await startFuzzEnv(4);
  try {
    let running = true;
    const flow = keepFlowing(f, () => running);
    const report = await fuzzHubLink(f.target, { cases, seed, progress: (d) => { if (d % 10_000 === 0) process.stdout.write(`link fuzz: ${d} cases\n`); } })
      .finally(() => { running = false; });
    const latencies = await flow;
    latencies.push(await f.goodMessage());
    process.stdout.write(`link fuzz (hub side): ${report.cases} cases in ${report.seconds.toFixed(1)} s, seed ${seed}\n`);
    process.stdout.write(`  states ${JSON.stringify(report.states)}\n  mutations ${JSON.stringify(report.mutations)}\n  close codes ${JSON.stringify(report.closeCodes)}\n`);
    process.stdout.write(`  the relay's messages meanwhile: ${latencies.length}, slowest ${Math.max(...latencies)} ms\n`);
    const problems = [...f.problems(), ...(report.stuck.length > 0 ? [`connections the hub did not close: cases ${report.stuck.slice(0, 20).join(', ')}`] : [])];
    for (const p of problems) process.stderr.write(`${p}\n`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    await f.env.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(Number(process.argv[2] ?? 200_000));
