// What one event may hold: texts are cut on a code point boundary to a UTF-8 byte limit, and say so.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundList, boundText, cutUtf8, EVENT_LIMITS } from '../../relay/model/event-limits.js';

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('event limits', () => {
  it('cuts to the largest whole-code-point prefix that fits, never inside a surrogate pair', () => {
    assert.equal(cutUtf8('abc', 3), 'abc');
    assert.equal(cutUtf8('abcd', 3), 'abc');
    assert.equal(cutUtf8('ééé', 5), 'éé', 'two-byte characters: 4 of 5 bytes');
    assert.equal(cutUtf8('a😀b', 4), 'a', 'the emoji (4 bytes) does not fit after a: dropped whole');
    assert.equal(cutUtf8('a😀b', 5), 'a😀');
    for (let limit = 1; limit < 40; limit++) {
      const s = 'x€😀é'.repeat(10);
      const cut = cutUtf8(s, limit);
      assert.ok(utf8(cut) <= limit && utf8(cut) > limit - 4, `limit ${limit}: ${utf8(cut)} bytes`);
      assert.ok(s.startsWith(cut));
      assert.ok(!/[\ud800-\udbff]$/.test(cut), 'no lone high surrogate at the end');
    }
  });

  it('a text over 512 KiB of UTF-8 comes back cut and flagged; one under it untouched', () => {
    const limit = EVENT_LIMITS.textBytes;
    assert.equal(limit, 512 * 1024);
    const under = 'é'.repeat(limit / 2);
    assert.deepEqual(boundText(under), { text: under, truncated: false });
    const over = boundText(`${'😀'.repeat(limit / 4 - 1)}abc😀😀`);
    assert.equal(over.truncated, true);
    assert.equal(utf8(over.text!), limit - 4 + 3, 'the abc fits, the next emoji does not');
    assert.deepEqual(boundText(null), { text: null, truncated: false });
    assert.equal(boundList(Array.from({ length: 1500 }, (_, i) => i)).length, EVENT_LIMITS.listEntries);
  });
});
