// The send rate limits under a fake clock: the overall limit and the per-chat limit are exact (not
// "about right"), and the per-chat limit is exercised by bursts into one chat, not round-robin.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../relay/messages-app/rate-limit.js';
import { FakeClock } from '../support/fake-clock.js';

/** Runs `plan` (chat per send) the way the sender does: wait delay(), then record(); returns send times. */
function drive(limiter: RateLimiter, clock: FakeClock, plan: readonly string[]): Array<{ chat: string; t: number }> {
  const out: Array<{ chat: string; t: number }> = [];
  for (const chat of plan) {
    const wait = limiter.delay(chat);
    assert.ok(wait >= 0, `delay is never negative (${wait})`);
    clock.advance(wait);
    assert.equal(limiter.delay(chat), 0, 'after waiting the delay, the send may start');
    limiter.record(chat);
    out.push({ chat, t: clock.now() });
  }
  return out;
}

/** Most sends in any window [t, t + 1000 ms) (windows start at a send). */
function mostInOneSecond(times: readonly number[]): number {
  let most = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && times[j]! < times[i]! + 1000; j++) n++;
    most = Math.max(most, n);
  }
  return most;
}

describe('send rate limits (fake clock)', () => {
  it('overall: exactly perSecond sends in any second, spaced exactly 1000 / perSecond ms, never less', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ perSecond: 10, perChatPerSecond: 1000 }, clock);
    const sends = drive(limiter, clock, Array.from({ length: 100 }, (_, i) => `chat-${i % 7}`));
    const gaps = sends.slice(1).map((s, i) => s.t - sends[i]!.t);
    assert.deepEqual([...new Set(gaps)], [100], 'every gap is exactly 100 ms');
    assert.equal(mostInOneSecond(sends.map((s) => s.t)), 10, 'ten per second, not eleven');
    limiter.record('other');
    assert.equal(limiter.delay('another'), 100);
    clock.advance(99);
    assert.equal(limiter.delay('another'), 1, 'one ms early is still early');
    clock.advance(1);
    assert.equal(limiter.delay('another'), 0);
  });

  it('per chat: a burst into one chat is held to perChatPerSecond while other chats go at the overall rate', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ perSecond: 20, perChatPerSecond: 4 }, clock);
    const t0 = clock.now();
    limiter.record('A');
    assert.equal(limiter.delay('A'), 250, 'the same chat waits 1000 / 4 ms');
    assert.equal(limiter.delay('B'), 50, 'another chat waits only for the overall limit');
    clock.advance(50);
    limiter.record('B');
    assert.equal(limiter.delay('A'), 200, 'A still waits for its own limit');
    assert.equal(limiter.delay('B'), 250);
    assert.equal(limiter.delay('C'), 50);
    clock.advance(200);
    assert.equal(clock.now() - t0, 250);
    assert.equal(limiter.delay('A'), 0);
    // 40 sends all into one chat, then a mix where one chat is bursty: per-chat spacing is exact.
    const burst = drive(limiter, clock, Array.from({ length: 40 }, () => 'A'));
    assert.deepEqual([...new Set(burst.slice(1).map((s, i) => s.t - burst[i]!.t))], [250]);
    assert.equal(mostInOneSecond(burst.map((s) => s.t)), 4);
    const mixed = drive(limiter, clock, Array.from({ length: 120 }, (_, i) => (i % 3 === 2 ? `other-${i}` : 'A')));
    const aTimes = mixed.filter((s) => s.chat === 'A').map((s) => s.t);
    assert.equal(Math.min(...aTimes.slice(1).map((t, i) => t - aTimes[i]!)), 250, 'A never closer than 250 ms');
    assert.equal(mostInOneSecond(aTimes), 4);
    const all = mixed.map((s) => s.t);
    assert.equal(Math.min(...all.slice(1).map((t, i) => t - all[i]!)), 50, 'overall never closer than 50 ms');
    assert.ok(mostInOneSecond(all) <= 20);
  });

  it('fractional limits: 0.5 per second means one send every 2 s', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ perSecond: 0.5, perChatPerSecond: 0.25 }, clock);
    limiter.record('A');
    assert.equal(limiter.delay('B'), 2000);
    assert.equal(limiter.delay('A'), 4000);
  });
});
