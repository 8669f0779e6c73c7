// Random and mutated bodies never hang, never crash, never throw anything but a coded RelayError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '../../relay/errors.js';
import { decodeAttributedBody } from '../../relay/typedstream/attributed-body.js';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';
import { fuzzCases, mulberry32 } from '../support/fuzz.js';
import { HAVE_FIXTURES, fixture, fixtureText } from '../support/fixtures.js';

function seeds(): Buffer[] {
  const own = [encodeAttributedBody('hello'), encodeAttributedBody('a\uFFFCb', [{ length: 1 }, { length: 1, fileTransferGuid: 'at_0_X' }, { length: 1 }]),
    encodeAttributedBody('x'.repeat(300)), encodeAttributedBody('@Bob hi', [{ length: 4, mention: '+15550001' }, { length: 3 }])];
  if (!HAVE_FIXTURES) return own;
  const files = (JSON.parse(fixtureText('attributed-body', 'manifest.json')) as Array<{ file: string }>).map((e) => e.file);
  return [...own, ...files.map((f) => fixture('attributed-body', f))];
}

describe('decoder fuzz (npm run fuzz runs 100,000+ cases)', () => {
  it('survives 4,000 random and mutated inputs with only coded errors', () => {
    const rand = mulberry32(0x5eed);
    let ok = 0;
    let rejected = 0;
    let slowest = 0;
    for (const input of fuzzCases(seeds(), rand, 4000)) {
      const t0 = performance.now();
      try {
        const d = decodeAttributedBody(input);
        assert.ok(d.text.length <= input.length, 'text cannot be longer than the input');
        // What is accepted is consistent: the runs tile the text exactly, in order.
        let at = 0;
        for (const r of d.runs) { assert.equal(r.start, at, 'runs are contiguous'); assert.ok(r.length > 0); at += r.length; }
        assert.equal(at, d.text.length, 'runs cover the text');
        ok++;
      } catch (err) {
        assert.ok(err instanceof RelayError, `non-RelayError thrown: ${String(err)}`);
        assert.match(err.code, /^TS_/);
        rejected++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    assert.ok(rejected >= 1000 && ok >= 100, `both outcomes seen often (ok ${ok}, rejected ${rejected})`);
    assert.ok(slowest < 1000, `a case took ${slowest} ms`);
  });
});
