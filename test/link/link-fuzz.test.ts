// The link fuzzer against the hub as a real process, with the real relay beside it: 2,000 cases of
// mutated frames from a raw socket in every handshake state (`npm run fuzz` runs 200,000). The hub
// and the relay never exit, the hub closes every connection, and the relay's messages keep flowing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fuzzHubLink, keepFlowing, startFuzzEnv, type FuzzEnv } from '../../bench/fuzz-link.js';

describe('link fuzz, hub side (npm run fuzz runs 200,000 cases)', () => {
  let f: FuzzEnv;
  before(async () => { f = await startFuzzEnv(4); });
  after(() => f.env.close());

  it('2,000 mutated cases in every state: the hub and the relay stay up and the relay keeps flowing', async (t) => {
    let running = true;
    const flow = keepFlowing(f, () => running);
    const report = await fuzzHubLink(f.target, { cases: 2000, seed: 0x11f2 }).finally(() => { running = false; });
    const latencies = await flow;
    t.diagnostic(`${report.cases} cases in ${report.seconds.toFixed(1)} s; states ${JSON.stringify(report.states)}; close codes ${JSON.stringify(report.closeCodes)}; ${latencies.length} good messages meanwhile`);
    assert.equal(report.cases, 2000);
    for (const state of ['upgrade', 'fresh', 'refused', 'answered', 'impostor', 'welcomed']) assert.ok((report.states[state] ?? 0) >= 50, `${state} was fuzzed`);
    assert.deepEqual(report.stuck, [], 'the hub closed every connection');
    assert.ok(latencies.length >= 3, 'the relay\'s messages flowed during the fuzz');
    await f.goodMessage();
    assert.deepEqual(f.problems(), []);
  });
});
