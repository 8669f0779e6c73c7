// Frame-level violations written as raw bytes over TCP (no ws client would send them) to a hub
// running as a real process, in every phase of a connection: with the upgrade request, before the
// hello, after it, while a refused connection is being closed, and after the welcome. The hub
// closes each such connection and keeps running: the real relay beside it stays connected, its
// messages flow, the API answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLIENT_HELLO, encodeHello } from '../../relay/link/handshake.js';
import { generateKeyPair, type KeyPair } from '../../relay/link/keys.js';
import { waitFor } from '../support/chatdb-env.js';
import { pinRelay } from '../support/hub-edits.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { Op, RawWs, closePayload, encodeFrame, rawHandshake, upgradeRequest, type FrameSpec } from '../support/raw-ws-frames.js';

const bin = (n: number, fill = 7): Buffer => Buffer.alloc(n, fill);

/** Each violation: the bytes to write, or a socket reset in the middle of a frame. */
const VIOLATIONS: ReadonlyArray<{ name: string; frames?: FrameSpec[]; bytes?: Buffer; reset?: true }> = [
  { name: 'a frame header declaring a 1 TiB payload', frames: [{ opcode: Op.Binary, declaredLength: 1n << 40n, payload: bin(16) }] },
  { name: 'a 64-bit length with its top bit set', frames: [{ opcode: Op.Binary, declaredLength: (1n << 63n) + 5n, payload: bin(16) }] },
  { name: 'an unmasked client frame', frames: [{ opcode: Op.Binary, mask: null, payload: bin(69) }] },
  { name: 'RSV1 set without an extension', frames: [{ opcode: Op.Binary, rsv: 4, payload: bin(69) }] },
  { name: 'RSV2 and RSV3 set', frames: [{ opcode: Op.Binary, rsv: 3, payload: bin(8) }] },
  { name: 'a text frame with invalid UTF-8', frames: [{ opcode: Op.Text, payload: Buffer.from([0x68, 0xc3, 0x28, 0xff, 0xfe]) }] },
  { name: 'a reserved data opcode', frames: [{ opcode: 3, payload: bin(4) }] },
  { name: 'a reserved control opcode', frames: [{ opcode: 0x0b, payload: bin(4) }] },
  { name: 'a fragmented ping', frames: [{ opcode: Op.Ping, fin: false, payload: bin(4) }] },
  { name: 'a ping over 125 bytes', frames: [{ opcode: Op.Ping, payload: bin(126) }] },
  { name: 'a continuation frame with nothing to continue', frames: [{ opcode: Op.Continuation, payload: bin(8) }] },
  { name: 'a new message inside a fragmented one', frames: [{ opcode: Op.Binary, fin: false, payload: bin(8) }, { opcode: Op.Binary, payload: bin(8) }] },
  { name: 'fragments adding up to more than the frame limit', frames: [{ opcode: Op.Binary, fin: false, payload: bin(700 * 1024) }, { opcode: Op.Continuation, payload: bin(700 * 1024) }] },
  { name: 'a close frame with an invalid code', frames: [{ opcode: Op.Close, payload: closePayload(999) }] },
  { name: 'a close frame of one byte', frames: [{ opcode: Op.Close, payload: Buffer.from([3]) }] },
  { name: 'a close frame with an invalid UTF-8 reason', frames: [{ opcode: Op.Close, payload: closePayload(1000, Buffer.from([0xc0, 0xaf])) }] },
  { name: 'bytes that are no frame at all', bytes: Buffer.alloc(32, 0xff) },
  { name: 'half a frame, then a TCP reset', bytes: encodeFrame({ opcode: Op.Binary, payload: bin(69) }).subarray(0, 20), reset: true },
];

type Phase = 'with the upgrade request' | 'before the hello' | 'after the hello' | 'while refused' | 'after the welcome';

describe('the hub survives any bytes from any peer', () => {
  const env = new RelayEnv();
  const keys: Partial<Record<Phase, KeyPair>> = {};
  let nextAddress = 1;
  let sent = 0;
  const started = Date.now();

  /** The hub is running and its API answers; else fails with what the hub printed as it died. */
  const hubServes = async (after: string): Promise<void> => {
    const res = await env.api('/v1/chats').catch((err: Error) => err);
    const dead = env.hub!.child.exitCode !== null || env.hub!.child.signalCode !== null || res instanceof Error;
    assert.ok(!dead, `the hub died after ${after}: exit ${env.hub!.child.exitCode}; ${env.hub!.stderr.slice(0, 1200)}`);
    assert.equal((res as Response).status, 200);
  };

  /** A message written to chat.db reaches the webhook receiver; the relay never lost its link. */
  const relayFlows = async (): Promise<void> => {
    const row = env.writer.insert({ chat: DM, handle: ALICE, text: `still here ${++sent}` });
    await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === row.guid), 'the good relay\'s message at the webhook', 15_000);
    assert.equal(env.mac!.lines.filter((l) => l.msg === 'link up').length, 1, 'the good relay stayed connected');
  };

  /** A connection driven to `phase`, from a loopback address of its own (so no address limit is reached). */
  async function open(phase: Phase): Promise<RawWs> {
    const c = await RawWs.open(env.hubPort, { localAddress: `127.0.1.${nextAddress++}` });
    assert.ok(c.isUpgraded, c.status);
    if (phase === 'after the hello') {
      assert.ok(await rawHandshake(c, keys[phase]!), 'ServerHello');
    } else if (phase === 'while refused') {
      c.sendBinary(encodeHello(CLIENT_HELLO, generateKeyPair().publicKey, generateKeyPair().publicKey));
      await c.until(() => c.closeCode !== null, 'the refusal');
      assert.equal(c.closeCode, 4003);
    } else if (phase === 'after the welcome') {
      const h = (await rawHandshake(c, keys[phase]!))!;
      c.sendBinary(h.seal({ t: 'hello', v: 1, agent: 'raw', store: `raw-${nextAddress}`, cmd_acked: 0 }));
      await c.until(() => h.opened().some((m) => m.t === 'welcome'), 'welcome');
    }
    return c;
  }

  before(async () => {
    await env.prepare();
    keys['after the hello'] = pinRelay(env, 'mallory');
    keys['after the welcome'] = pinRelay(env, 'trudy');
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
    await relayFlows();
  });
  after(() => env.close());

  for (const phase of ['with the upgrade request', 'before the hello', 'after the hello', 'while refused', 'after the welcome'] as const) {
    it(`${phase}: closes the connection on each violation and keeps serving`, async () => {
      for (const v of VIOLATIONS) {
        const bytes = v.bytes ?? Buffer.concat(v.frames!.map(encodeFrame));
        let c: RawWs;
        if (phase === 'with the upgrade request') {
          // In the same write as the request: ws reads these bytes as the connection is handed over.
          c = await RawWs.open(env.hubPort, { localAddress: `127.0.1.${nextAddress++}`, request: Buffer.concat([upgradeRequest('127.0.0.1', env.hubPort), bytes]) });
          assert.ok(c.isUpgraded, c.status);
        } else {
          c = await open(phase);
        }
        const framesBefore = phase === 'with the upgrade request' ? 0 : c.frames.length;
        if (phase !== 'with the upgrade request') await new Promise((r) => c.socket.write(bytes, r));
        if (v.reset === true) c.socket.resetAndDestroy();
        await c.until(() => false, `the hub to close the connection after ${v.name}`, 10_000);
        await hubServes(`${v.name} ${phase}`);
        if (v.reset !== true && phase !== 'while refused') {
          const close = c.frames.slice(framesBefore).find((f) => f.opcode === Op.Close);
          assert.ok(close !== undefined, `a close frame after ${v.name}`);
          assert.ok([1002, 1007, 1009].includes(close.payload.readUInt16BE(0)), `${v.name}: closed with ${close.payload.readUInt16BE(0)}`);
        }
      }
      await relayFlows();
    });
  }

  it('logged the broken connections without a line per connection', () => {
    const errors = env.hub!.lines.filter((l) => l.msg === 'link: connection error').length;
    assert.ok(errors >= 1, 'socket errors are logged');
    const windows = Math.ceil((Date.now() - started) / 60_000);
    assert.ok(errors <= 10 * windows, `at most 10 lines a minute, not one per connection (${errors} lines in ${windows} min)`);
  });
});
