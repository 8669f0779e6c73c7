// The webhook dispatcher against a real HTTP receiver and a real hub store: only a 2xx answer counts
// as delivered (a redirect or an error is retried), and a delivery is parked as a dead letter after
// exactly maxAttempts attempts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { Metrics } from '../../relay/health/metrics.js';
import { WebhookDispatcher } from '../../relay/hub/webhook-dispatcher.js';
import { silentLogger } from '../../relay/logger.js';
import { HubStore } from '../../relay/store/hub-store.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'dispatcher-test-secret';
const ev = (guid: string): Record<string, unknown> => ({ kind: 'message', guid, chat: { guid: 'iMessage;-;+1555', identifier: '+1555', name: null, is_group: false, participants: ['+1555'] }, service: 'iMessage', date: null, backlog: false });

async function setUp(maxAttempts: number) {
  const t = tempDir();
  const store = new HubStore(join(t.dir, 'hub.db'), () => Date.now());
  const receiver = new WebhookReceiver(SECRET);
  const port = await receiver.start();
  const dispatcher = new WebhookDispatcher({
    hook: { name: 'main', url: `http://127.0.0.1:${port}/hook`, secret: SECRET, maxAttempts, backoffBaseMs: 20, backoffCapMs: 40, timeoutMs: 5000, concurrency: 4 },
    store, clock: systemClock, logger: silentLogger(), metrics: (() => { const m = new Metrics(); m.counter('webhook_deliveries_total', 'x', ['hook', 'result']); return m; })(),
  });
  store.events.relay('alice', 'KEY', 'store-1');
  const ingest = (guids: string[]): void => {
    const r = store.events.ingest('alice', guids.map((g, i) => ({ seq: store.events.acked('alice') + i + 1, type: 'event' as const, id: `message:${g}`, body: ev(g) })), ['main']);
    dispatcher.offer(r.inserted);
  };
  return {
    store, receiver, dispatcher, ingest,
    close: async () => { dispatcher.stop(); await receiver.stop(); store.close(); t.cleanup(); },
  };
}

describe('webhook dispatcher', () => {
  for (const status of [302, 304, 404, 500]) {
    it(`an answer ${status} is not a delivery: retried until the receiver answers 2xx, then delivered once`, async () => {
      const s = await setUp(50);
      try {
        s.dispatcher.start();
        s.receiver.failWith = status;
        s.ingest(['A']);
        await waitFor(() => s.receiver.failures >= 3, 'three failed attempts');
        assert.equal(s.store.deliveries.backlog().pending, 1, 'still pending');
        s.receiver.failWith = null;
        await waitFor(() => s.receiver.received.length >= 1, 'delivered after the receiver recovered');
        s.ingest(['B']);
        await waitFor(() => s.receiver.received.some((r) => r.id === 'message:B'), 'a later event (same lane: after A is done)');
        assert.deepEqual(s.receiver.received.map((r) => [r.id, r.signatureOk]), [['message:A', true], ['message:B', true]], 'A once, then B; signed');
        assert.ok(s.receiver.received[0]!.attempt >= 4, `A's attempt number counts the failures (${s.receiver.received[0]!.attempt})`);
      } finally { await s.close(); }
    });
  }

  it('parks a delivery as a dead letter after exactly maxAttempts attempts, and goes on with the next', async () => {
    const s = await setUp(3);
    try {
      s.dispatcher.start();
      s.receiver.failWith = 503;
      s.ingest(['DOOMED']);
      await waitFor(() => s.store.deliveries.dead().length === 1, 'a dead letter');
      assert.equal(s.receiver.failures, 3, 'three attempts, not four');
      s.receiver.failWith = null;
      s.ingest(['NEXT']);
      await waitFor(() => s.receiver.received.length >= 1, 'the next event');
      assert.deepEqual(s.receiver.received.map((r) => r.id), ['message:NEXT']);
      assert.equal(s.receiver.failures, 3, 'the dead one was not tried again');
    } finally { await s.close(); }
  });
});
