// The link through a TCP proxy that cuts or stalls the connection 20 times while messages stream:
// every message arrives exactly once, in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../support/fuzz.js';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { freePort } from '../support/processes.js';

describe('a flaky network between relay and hub', () => {
  it('20 cuts and stalls: exactly once, in order', async () => {
    const env = new RelayEnv();
    const hubPort = await freePort();
    const proxy = new TcpProxy(hubPort);
    const proxyPort = await proxy.start();
    try {
      await env.prepare({ dialPort: proxyPort });
      env.hubPort = hubPort;
      const { readFileSync, writeFileSync } = await import('node:fs');
      const hubConfig = JSON.parse(readFileSync(env.hubConfig, 'utf8')) as { listen: { port: number } };
      hubConfig.listen.port = hubPort;
      writeFileSync(env.hubConfig, JSON.stringify(hubConfig));
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      await env.startHub();
      await env.startMac();
      const guids: string[] = [];
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 1500; i += 10) {
          env.writer.db.transaction(() => { for (let j = 0; j < 10; j++) guids.push(env.writer.insert({ chat: DM, handle: ALICE, text: `m${i + j}` }).guid); })();
          await new Promise((r) => setTimeout(r, 40));
        }
        writing = false;
      })();
      const rand = mulberry32(99);
      for (let k = 0; k < 20; k++) {
        await new Promise((r) => setTimeout(r, 100 + rand() * 300));
        if (k % 2 === 0) proxy.cut();
        else await proxy.stall(k % 4 === 1 ? 300 : 3500); // short stalls ride through; long ones outlast the heartbeat
      }
      await writer;
      assert.equal(writing, false);
      await waitFor(() => env.receiver.distinct().length >= 1500, '1,500 distinct deliveries', 60_000);
      guids.push(await env.marker(DM, 60_000));
      assert.equal(proxy.cuts + proxy.stalls, 20);
      assert.equal(env.receiver.received.length, 1501, 'exactly once');
      assert.deepEqual(env.receiver.received.map((r) => r.body.event['guid']), guids, 'in order');
      const reconnects = env.mac!.lines.filter((l) => l.msg === 'link up').length;
      assert.ok(reconnects >= 10, `the relay reconnected after the cuts (${reconnects} times up)`);
    } finally {
      await env.close();
      await proxy.stop();
    }
  });
});
