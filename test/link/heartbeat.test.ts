// The sealed channel's heartbeat under a fake clock, over an in-memory socket pair: a quiet but
// healthy link stays up for as long as you like; a peer that went silent is closed as dead at the
// first heartbeat tick past deadAfterMs; bad frames close the channel instead of being skipped.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type WebSocket from 'ws';
import { SealedChannel, type ChannelOptions } from '../../relay/link/channel.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { SessionCipher } from '../../relay/link/session-cipher.js';
import { FakeClock } from '../support/fake-clock.js';

/** One end of an in-memory WebSocket pair: send() delivers to the peer at once (unless cut). */
class FakeSocket extends EventEmitter {
  peer: FakeSocket | null = null;
  /** When true, what this end sends is lost (the peer went silent behind a dead NAT). */
  cut = false;
  closedWith: number | null = null;
  readonly bufferedAmount = 0;
  send(data: Uint8Array, opts?: { binary?: boolean }): void {
    if (this.cut || this.closedWith !== null) return;
    this.peer?.emit('message', Buffer.from(data), opts?.binary === true);
  }
  close(code: number, reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = code;
    this.emit('close', code, Buffer.from(reason));
  }
  terminate(): void {
    this.close(1006, 'terminated');
  }
}

const OPTS: ChannelOptions = { heartbeatMs: 1000, deadAfterMs: 3000, maxFrameBytes: 64 * 1024, maxMessageBytes: 1024 * 1024 };

function pair(clock: FakeClock) {
  const a = new FakeSocket();
  const b = new FakeSocket();
  a.peer = b;
  b.peer = a;
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const closes: Array<{ side: string; code: number; at: number }> = [];
  const got: LinkMessage[] = [];
  const A = new SealedChannel(a as unknown as WebSocket, new SessionCipher(k1, k2), clock, OPTS);
  const B = new SealedChannel(b as unknown as WebSocket, new SessionCipher(k2, k1), clock, OPTS);
  A.attach({ message: (m) => got.push(m), close: (code) => closes.push({ side: 'A', code, at: clock.now() }) });
  B.attach({ message: (m) => got.push(m), close: (code) => closes.push({ side: 'B', code, at: clock.now() }) });
  return { a, b, A, B, closes, got };
}

describe('sealed channel heartbeat (fake clock)', () => {
  it('a quiet, healthy link stays up: pings and pongs keep both ends alive for 100 × deadAfterMs', () => {
    const clock = new FakeClock();
    const p = pair(clock);
    try {
      for (let t = 0; t < 100 * OPTS.deadAfterMs; t += 250) clock.advance(250);
      assert.deepEqual(p.closes, []);
      assert.ok(p.A.isOpen && p.B.isOpen);
      p.A.send({ t: 'bye', reason: 'still here' });
      assert.deepEqual(p.got, [{ t: 'bye', reason: 'still here' }], 'and it still carries messages');
    } finally {
      p.A.close(); p.B.close();
    }
  });

  it('a peer that went silent is closed as dead (4008) at the first heartbeat tick past deadAfterMs', () => {
    const clock = new FakeClock();
    const p = pair(clock);
    const t0 = clock.now();
    try {
      clock.advance(1500);
      p.b.cut = true;
      // A last heard B at 1000 ms (B's ping); ticks at 2000, 3000, 4000: 4000 - 1000 = 3000 is not past 3000; 5000 is.
      clock.advance(5000 - 1500 - 1);
      assert.deepEqual(p.closes.filter((c) => c.side === 'A'), [], 'not yet');
      clock.advance(1);
      assert.deepEqual(p.closes.filter((c) => c.side === 'A').map((c) => ({ code: c.code, at: c.at - t0 })), [{ code: 4008, at: 5000 }]);
    } finally {
      p.A.close(); p.B.close();
    }
  });

  it('a frame that fails to open closes the channel (4002); nothing after it is delivered', () => {
    const clock = new FakeClock();
    const p = pair(clock);
    try {
      p.a.peer!.emit('message', Buffer.alloc(40, 9), true);
      assert.deepEqual(p.closes.map((c) => [c.side, c.code]), [['B', 4002]]);
      p.A.send({ t: 'bye', reason: 'too late' });
      assert.deepEqual(p.got, []);
    } finally {
      p.A.close(); p.B.close();
    }
  });
});
