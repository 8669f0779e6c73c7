// The link fuzzer's hostile-server half, a short run (`npm run fuzz` runs 200,000 cases): mutated
// upgrades, hellos, WebSocket frames and sealed frames in every handshake state against real Mac
// daemons. None may exit; each dropped link shows on /health with a reason; each links up with its
// real hub and delivers when let through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzLinkClient } from '../../bench/fuzz-link-client.js';

describe('link fuzzer, hostile server against the Mac daemon', () => {
  it('2,000 cases: the daemons never exit, show why the link is down, and deliver through the real hub', async () => {
    const res = await fuzzLinkClient({ cases: 2000, lanes: 2, seed: 11, healthEvery: 20, goodEvery: 500 });
    assert.equal(res.cases, 2000);
    assert.deepEqual(res.byState, { http: 200, hello: 400, sealed: 400, welcomed: 1000 });
    assert.equal(res.goodDeliveries, 4, 'two deliveries through the real hub per daemon');
    assert.ok(res.healthChecks >= 100, `/health checked after ${res.healthChecks} cases`);
    // The daemon refused most cases itself (a close frame with a code): the fuzz reached its checks.
    const refused = Object.entries(res.outcomes).filter(([k]) => k.startsWith('closed ')).reduce((n, [, v]) => n + v, 0);
    assert.ok(refused > 1000, `refused by the daemon: ${JSON.stringify(res.outcomes)}`);
  });
});
