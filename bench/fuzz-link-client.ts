// The link fuzzer's hostile-server half: the Mac daemon (`imessage-relay run`, a real child process)
// dials a raw fake hub that answers with mutated HTTP upgrades, hellos, WebSocket frames and sealed
// frames in every handshake state. The daemon must never exit, must show each dropped link on
// /health with a reason, and must link up with the real hub and deliver whenever it is let through.
// `npm run fuzz:link-client [-- cases]` (default 200,000; FUZZ_SEED picks the sequence).
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { LinkMessage } from '../relay/link/codec.js';
import { HELLO_BYTES, SERVER_HELLO, encodeHello, ephemeralKeyPair } from '../relay/link/handshake.js';
import { Op, encodeFrame, parseFrame, sealMessage, upgradeResponse, type FakeConnection, type ServerSession, type WsFrame } from '../test/support/fake-hub-server.js';
import { mulberry32 } from '../test/support/fuzz.js';
import { HostileHub } from '../test/support/hostile-hub.js';
import { ALICE, DM } from '../test/support/relay-env.js';
import { LOW_ORDER_HEX } from '../test/support/x25519-low-order.js';

/** Where the daemon is when the hostile bytes arrive. */
export type FuzzState = 'http' | 'hello' | 'sealed' | 'welcomed';

export interface LinkClientFuzzOptions {
  readonly cases: number;
  readonly seed?: number;
  /** Check /health (link down, with a reason) after every n-th case (default 50). */
  readonly healthEvery?: number;
  /** Let the daemon through to the real hub and deliver a message every n cases, and at the end (default 5,000). */
  readonly goodEvery?: number;
  /** Daemons fuzzed side by side (default 1). */
  readonly lanes?: number;
  readonly progress?: (line: string) => void;
}

export interface LinkClientFuzzResult {
  readonly cases: number;
  readonly seconds: number;
  readonly byState: Record<FuzzState, number>;
  /** How each case ended: the daemon's close code, a drop without one, alive (answered the probe), or the case's time bound. */
  readonly outcomes: Record<string, number>;
  readonly healthChecks: number;
  readonly goodDeliveries: number;
  readonly slowestCaseMs: number;
}

type Rand = () => number;

/** Points of small order on Curve25519 (every X25519 with them gives all zeros). */
const LOW_ORDER = LOW_ORDER_HEX.map((h) => Buffer.from(h, 'hex'));
const INTERESTING = [0x00, 0x01, 0x02, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x30, 0x39];
/** Sealed messages a hub might send, and some it never should: the seeds of plaintext mutations. */
const MESSAGES: LinkMessage[] = [
  { t: 'welcome', v: 1, acked: 0, account: 'alice' },
  { t: 'ack', seq: 1 },
  { t: 'ping', n: 3 },
  { t: 'pong', n: 1 },
  { t: 'bye', reason: 'maintenance' },
  { t: 'commands', items: [{ seq: 1, id: 'cmd-1', body: { kind: 'file_chunk', command_id: 'cmd-2', file_id: 'f', index: 0, data: 'aGVsbG8=' } }] },
  { t: 'commands', items: [{ seq: 2, id: 'cmd-2', body: { kind: 'send', text: 'hi', handle: '+15555550123', service: 'iMessage' } }] },
  { t: 'items', items: [{ seq: 1, type: 'event', id: 'e', body: {} }] },
  { t: 'cmd_ack', seq: 1 },
  { t: 'hello', v: 1, agent: 'x', store: 's', cmd_acked: 0 },
];
const SEED_TEXT = MESSAGES.map((m) => Buffer.from(JSON.stringify(m)));

const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const bytes = (r: Rand, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => (r() < 0.3 ? pick(r, INTERESTING) : int(r, 256))));

/** Bit flips, byte changes, truncation, extension, duplication or a splice with another seed. */
export function mutate(b: Buffer, r: Rand, others: readonly Buffer[] = []): Buffer {
  const out = Buffer.from(b);
  switch (int(r, 6)) {
    case 0: for (let k = 1 + int(r, 4); k > 0 && out.length > 0; k--) { const p = int(r, out.length); out[p] = out[p]! ^ (1 << int(r, 8)); } return out;
    case 1: for (let k = 1 + int(r, 4); k > 0 && out.length > 0; k--) out[int(r, out.length)] = pick(r, INTERESTING); return out;
    case 2: return out.subarray(0, int(r, out.length));
    case 3: return Buffer.concat([out, bytes(r, 1 + int(r, 40))]);
    case 4: { const at = int(r, out.length + 1); return Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + int(r, 16)), out.subarray(at)]); }
    default: {
      const other = others.length === 0 ? bytes(r, 20) : pick(r, others);
      return Buffer.concat([out.subarray(0, int(r, out.length + 1)), other.subarray(int(r, other.length + 1))]);
    }
  }
}

/**
 * A WebSocket frame with random header fields: reserved opcodes, RSV bits, a mask, lying lengths,
 * oversized control frames. `short`: it declares more bytes than it carries (the server then closes).
 */
function randomFrame(r: Rand): { bytes: Buffer; short: boolean } {
  const opcode = pick(r, [0, 1, 2, 3, 7, 8, 9, 10, 11, 15]);
  let payload = bytes(r, pick(r, [0, 1, 2, 5, 69, 125, 126, 200]));
  if (opcode === Op.Close && r() < 0.6) {
    const code = Buffer.alloc(2);
    code.writeUInt16BE(pick(r, [999, 1000, 1004, 1005, 1006, 1015, 1016, 2999, 3000, 4001, 4999, 5000, int(r, 65536)]));
    payload = Buffer.concat([code, r() < 0.5 ? Buffer.from('bye') : bytes(r, int(r, 10))]);
  }
  const lie = r() < 0.25;
  const declared = pick(r, [0n, 1n, 125n, 65535n, 1n << 20n, (1n << 20n) + 1n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n]);
  const frame = encodeFrame({
    opcode, payload, fin: r() < 0.85, rsv: r() < 0.3 ? int(r, 8) : 0,
    ...(r() < 0.2 ? { mask: bytes(r, 4) } : {}),
    ...(lie ? { declaredLength: declared } : {}),
    ...(r() < 0.15 ? { lengthForm: pick(r, [16, 64] as const) } : {}),
  });
  return { bytes: frame, short: lie && declared > BigInt(payload.length) };
}

/** Writes a random frame; one that promises more bytes than it has is followed by a close (else the parser waits). */
function writeRandomFrame(c: FakeConnection, r: Rand): boolean {
  const f = randomFrame(r);
  c.write(f.bytes);
  if (f.short) c.socket.end();
  return !f.short;
}

/** One case: its state, what it did, and how to judge it. */
interface FuzzCase {
  readonly state: FuzzState;
  readonly did: string[];
  /** What /health must then say, when one action decides it. */
  expect: RegExp | null;
}

/** The server's hostile actions in the 'hello' state (after the upgrade, before our ServerHello). */
function helloActions(c: FakeConnection, good: Buffer, r: Rand, fc: FuzzCase): boolean {
  const { did } = fc;
  const n = 1 + int(r, 3);
  for (let k = n; k > 0; k--) {
    const a = int(r, 10);
    did.push(`hello:${a}`);
    if (a === 0) c.sendBinary(mutate(good, r));
    else if (a === 1) { const h = Buffer.from(good); pick(r, LOW_ORDER).copy(h, 5); c.sendBinary(h); if (k === n) fc.expect = /: bad hello from the hub: low-order public key \(4001\)$/; }
    else if (a === 2) {
      const f = mutate(encodeFrame({ opcode: Op.Binary, payload: good }), r);
      c.write(f);
      if (parseFrame(f) === null) { c.socket.end(); return false; } // it promises more bytes: close, or the parser waits
    }
    else if (a === 3) { if (!writeRandomFrame(c, r)) return false; }
    else if (a === 4) c.send({ opcode: pick(r, [Op.Ping, Op.Pong]), payload: bytes(r, int(r, 126)) });
    else if (a === 5) {
      const cut = 1 + int(r, HELLO_BYTES - 1);
      c.send({ opcode: Op.Binary, payload: good.subarray(0, cut), fin: false });
      if (r() < 0.3) c.send({ opcode: Op.Ping, payload: Buffer.from('mid') });
      c.send({ opcode: r() < 0.8 ? Op.Continuation : Op.Binary, payload: good.subarray(cut) });
    } else if (a === 6) c.send({ opcode: Op.Text, payload: r() < 0.5 ? good : Buffer.from([0xc3, 0x28]) });
    else if (a === 7) { c.sendBinary(good); return true; }
    else if (a === 8) { const f = encodeFrame({ opcode: Op.Binary, payload: good }); c.write(f.subarray(0, int(r, f.length))); c.socket.end(); return false; }
    else { const h = Buffer.from(good); Buffer.from(ephemeralKeyPair().publicKey).copy(h, 37); c.sendBinary(h); if (k === n) fc.expect = /: the hub presented a key that is not the pinned one \(.+\) \(4004\)$/; }
  }
  return true;
}

/** Hostile sealed traffic (after the handshake, with or without a welcome first). */
function sealedActions(c: FakeConnection, s: ServerSession, r: Rand, fc: FuzzCase): boolean {
  const { did } = fc;
  const n = 1 + int(r, 3);
  for (let k = n; k > 0; k--) {
    const a = int(r, 11);
    did.push(`sealed:${a}`);
    if (a <= 2) {
      const flag = r() < 0.85 ? 0 : pick(r, [1, 2, 3, 255]);
      c.sendBinary(s.cipher.seal(Buffer.concat([Buffer.from([flag]), mutate(pick(r, SEED_TEXT), r, SEED_TEXT)])));
    } else if (a === 3) c.sendBinary(mutate(sealMessage(s.cipher, pick(r, MESSAGES)), r));
    else if (a === 4) { const f = sealMessage(s.cipher, { t: 'ping', n: 1 }); c.sendBinary(f); c.sendBinary(f); if (k === n) fc.expect = /: frame failed to open .* \(4002\)$/; }
    else if (a === 5) { const f1 = sealMessage(s.cipher, { t: 'ping', n: 1 }); const f2 = sealMessage(s.cipher, { t: 'pong', n: 2 }); c.sendBinary(f2); c.sendBinary(f1); }
    else if (a === 6) { sealMessage(s.cipher, { t: 'ping', n: 1 }); c.sendBinary(sealMessage(s.cipher, { t: 'ping', n: 2 })); }
    else if (a === 7) { if (!writeRandomFrame(c, r)) return false; }
    else if (a === 8) c.sendBinary(r() < 0.5 ? randomBytes(int(r, 100)) : s.cipher.seal(Buffer.concat([Buffer.from([1]), bytes(r, 30)])));
    else if (a === 9) { const f = encodeFrame({ opcode: Op.Binary, payload: sealMessage(s.cipher, { t: 'ping', n: 5 }) }); c.write(f.subarray(0, int(r, f.length))); c.socket.end(); return false; }
    else if (r() < 0.05) c.sendBinary(s.cipher.seal(Buffer.alloc(1024 * 1024 + 1)));
    else c.send({ opcode: Op.Text, payload: bytes(r, int(r, 40)) });
  }
  return true;
}

/** Plays one case on one connection; resolves with its outcome. `acked`: what the real hub holds (the welcome says so). */
async function playCase(c: FakeConnection, h: HostileHub, fc: FuzzCase, acked: number, r: Rand): Promise<string> {
  try {
    return await play(c, h, fc, acked, r);
  } catch (err) {
    // The daemon gave up on this dial before the case was played (its own handshake timeout).
    if (c.ended) return 'gave up';
    throw err;
  }
}

async function play(c: FakeConnection, h: HostileHub, fc: FuzzCase, acked: number, r: Rand): Promise<string> {
  const { state, did } = fc;
  let probe: (() => void) | null = null;
  // What tells that the daemon took the hostile input and is still talking: a data frame after an
  // upgrade, the pong to our WebSocket ping (or its sealed hello: it took our hello), the sealed pong to our sealed ping.
  let isAnswer: (f: WsFrame) => boolean = (f) => (f.opcode & 8) === 0;
  let seen = 0;
  if (state === 'http') {
    const { key } = await c.request();
    const a = int(r, 5);
    did.push(`http:${a}`);
    if (a === 0) c.destroy();
    else if (a === 1) c.write(bytes(r, 1 + int(r, 200)));
    else if (a === 2) c.write(`HTTP/1.1 ${pick(r, [200, 204, 301, 400, 401, 426, 500, 999])} X\r\ncontent-length: 0\r\n\r\n`);
    else { c.write(mutate(Buffer.from(upgradeResponse(key)), r)); if (r() < 0.98) c.socket.end(); }
  } else {
    await c.upgrade();
    if (state === 'hello') {
      await c.clientHello();
      const good = encodeHello(SERVER_HELLO, ephemeralKeyPair().publicKey, h.hubKeys.publicKey);
      seen = c.frames.length;
      isAnswer = (f) => (f.opcode & 8) === 0 || (f.opcode === Op.Pong && f.payload.toString() === 'probe');
      if (helloActions(c, good, r, fc)) probe = () => c.send({ opcode: Op.Ping, payload: Buffer.from('probe') });
    } else {
      const s = await c.handshake(h.hubKeys);
      const hello = await c.nextData(5000);
      if (hello === null || s.cipher.open(hello.payload) === null) return 'no sealed hello';
      if (state === 'welcomed') c.sendBinary(sealMessage(s.cipher, { t: 'welcome', v: 1, acked, account: 'alice' }));
      seen = c.frames.length;
      let inSync = true;
      isAnswer = (f) => {
        if ((f.opcode & 8) !== 0 || !inSync) return false;
        const plain = s.cipher.open(f.payload);
        if (plain === null) { inSync = false; return false; }
        const text = Buffer.from(plain.subarray(1)).toString();
        return plain[0] === 0 && text.startsWith('{"t":"pong"') && JSON.parse(text).n === 777;
      };
      if (sealedActions(c, s, r, fc)) probe = () => c.sendBinary(sealMessage(s.cipher, { t: 'ping', n: 777 }));
    }
  }
  probe?.();
  const answered = (): boolean => {
    for (; seen < c.frames.length; seen++) if (isAnswer(c.frames[seen]!)) return true;
    return false;
  };
  const settled = await c.until(() => c.closing || answered(), 1000);
  const close = c.closeFrame();
  c.destroy();
  if (close !== null) return `closed ${close.code}`;
  if (c.ended) return 'dropped';
  return settled ? 'alive' : 'time bound';
}

/** Lets the daemon through to the real hub, waits for a message to be delivered, and cuts it off again. */
async function goodRelay(h: HostileHub, held: FakeConnection, n: number): Promise<void> {
  h.fake.passThrough(h.env.hubPort);
  held.destroy();
  const until = Date.now() + 30_000;
  while ((await h.linkHealth()).state !== 'ok') {
    if (Date.now() > until || !h.alive) throw new Error('the daemon did not link up with the real hub');
    await new Promise((res) => setTimeout(res, 20));
  }
  h.env.writer.insert({ chat: DM, handle: ALICE, text: `good ${n}` });
  while (h.env.receiver.distinct().length < n) {
    if (Date.now() > until) throw new Error(`message ${n} was not delivered through the real hub`);
    await new Promise((res) => setTimeout(res, 20));
  }
  h.fake.passThrough(null);
  h.fake.cutThrough();
}

interface Totals {
  byState: Record<FuzzState, number>;
  outcomes: Record<string, number>;
  healthChecks: number;
  goodDeliveries: number;
  slowest: number;
  done: number;
}

const LINK_DOWN = /^link to the hub is down: .+ \(\d+\)$/;

/** One daemon, its real hub and a fake server, played `cases` cases in a row. */
async function lane(o: LinkClientFuzzOptions, cases: number, seed: number, t: Totals, t0: number): Promise<void> {
  const r = mulberry32(seed);
  const healthEvery = o.healthEvery ?? 50;
  const goodEvery = o.goodEvery ?? 5000;
  const h = new HostileHub();
  let delivered = 0;
  try {
    await h.start({ mac: { sender: { enabled: false } } });
    await h.env.startHub();
    h.env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    let conn = await h.accept();
    // A welcomed case resets the daemon's backoff: every other case is one, so redials stay quick.
    const others: FuzzState[] = ['hello', 'sealed', 'hello', 'sealed', 'http'];
    for (let i = 0; i < cases; i++) {
      const state: FuzzState = i % 2 === 1 ? 'welcomed' : others[(i / 2) % others.length]!;
      const c: FuzzCase = { state, did: [], expect: null };
      const started = performance.now();
      const outcome = await playCase(conn, h, c, delivered, r);
      t.byState[state]++;
      t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
      const describe = (): string => `seed ${seed} case ${i} (${state}: ${c.did.join(', ')}) ended ${outcome}`;
      conn = await h.accept().catch((err: Error) => { throw new Error(`${describe()}; then: ${err.message}; stderr: ${h.env.mac!.stderr.slice(-2000)}`); });
      t.slowest = Math.max(t.slowest, performance.now() - started);
      if (!h.alive) throw new Error(`the daemon exited after ${describe()}: ${h.env.mac!.stderr.slice(-2000)}`);
      if (i % healthEvery === healthEvery - 1 || c.expect !== null) {
        // The next dial is held unanswered: the link is down, with the reason of the case just played.
        const link = await h.linkHealth();
        t.healthChecks++;
        const reason = link.reason ?? '';
        if (link.state !== 'degraded' || !LINK_DOWN.test(reason) || reason.includes('not connected yet') || !((link.failures ?? 0) >= 1)
          || (c.expect !== null && !c.expect.test(reason))) {
          throw new Error(`/health after ${describe()}: ${JSON.stringify(link)}${c.expect === null ? '' : `, expected ${c.expect}`}`);
        }
      }
      if ((i + 1) % goodEvery === 0 || i === cases - 1) {
        await goodRelay(h, conn, ++delivered);
        t.goodDeliveries++;
        conn = await h.accept();
      }
      t.done++;
      if (i % 1000 === 999) {
        h.env.mac!.lines.length = 0; // a long run keeps only recent log lines
        h.env.mac!.stdout = '';
        if (seed === (o.seed ?? 1)) o.progress?.(`${t.done} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(t.outcomes)}`);
      }
    }
    conn.destroy();
  } finally {
    await h.close();
  }
}

/**
 * Runs `cases` hostile connections against the daemon (in `lanes` daemons side by side, default 1:
 * each waits out its backoff while the other plays); throws on the first broken promise.
 */
export async function fuzzLinkClient(o: LinkClientFuzzOptions): Promise<LinkClientFuzzResult> {
  const t: Totals = { byState: { http: 0, hello: 0, sealed: 0, welcomed: 0 }, outcomes: {}, healthChecks: 0, goodDeliveries: 0, slowest: 0, done: 0 };
  const t0 = performance.now();
  const lanes = Math.max(1, o.lanes ?? 1);
  const seed = o.seed ?? 1;
  await Promise.all(Array.from({ length: lanes }, (_, k) => lane(o, Math.floor(o.cases / lanes) + (k < o.cases % lanes ? 1 : 0), seed + k * 7919, t, t0)));
  return { cases: t.done, seconds: (performance.now() - t0) / 1000, byState: t.byState, outcomes: t.outcomes, healthChecks: t.healthChecks, goodDeliveries: t.goodDeliveries, slowestCaseMs: t.slowest };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cases = Number(process.argv[2] ?? process.env['FUZZ_LINK_CLIENT_CASES'] ?? 200_000);
  const lanes = Number(process.env['FUZZ_LINK_CLIENT_LANES'] ?? 2);
  const res = await fuzzLinkClient({ cases, lanes, seed: Number(process.env['FUZZ_SEED'] ?? 1), progress: (l) => process.stdout.write(`${l}\n`) });
  process.stdout.write(`${res.cases} hostile-server cases against the Mac daemon (${lanes} daemons) in ${res.seconds.toFixed(1)} s (${(res.cases / res.seconds).toFixed(0)}/s); `
    + `by state ${JSON.stringify(res.byState)}; outcomes ${JSON.stringify(res.outcomes)}; ${res.healthChecks} /health checks; `
    + `${res.goodDeliveries} deliveries through the real hub; slowest case ${res.slowestCaseMs.toFixed(0)} ms\n`);
  process.exit(0);
}
