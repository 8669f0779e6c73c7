// The window: the relay never has more than `window` items sent and unacknowledged, and resends
// what the hub did not acknowledge, in order, when it reconnects. Real link, real store.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { DEFAULT_CHANNEL_OPTIONS, type SealedChannel } from '../../relay/link/channel.js';
import { LinkClient } from '../../relay/link/client.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { generateKeyPair } from '../../relay/link/keys.js';
import { LinkServer } from '../../relay/link/server.js';
import { silentLogger } from '../../relay/logger.js';
import { MacLinkSession } from '../../relay/mac/link-session.js';
import { MacStore } from '../../relay/store/mac-store.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';

describe('link window', () => {
  it('keeps at most `window` items unacknowledged, and resends the unacknowledged ones in order after a reconnect', async () => {
    const t = tempDir();
    const hub = generateKeyPair();
    const relay = generateKeyPair();
    const received: number[] = [];
    const channels: SealedChannel[] = [];
    let acked = 0;
    const server = new LinkServer({
      host: '127.0.0.1', port: 0, keys: hub, relays: new Map([[Buffer.from(relay.publicKey).toString('base64'), 'r']]),
      clock: systemClock, logger: silentLogger(), channel: DEFAULT_CHANNEL_OPTIONS,
      onChannel: (ch) => {
        channels.push(ch);
        ch.attach({
          message: (m: LinkMessage) => {
            if (m.t === 'hello') ch.send({ t: 'welcome', v: 1, acked, account: 'r' });
            if (m.t === 'items') for (const it of m.items) received.push(it.seq);
          },
          close: () => undefined,
        });
      },
    });
    const port = await server.listen();
    const store = new MacStore(join(t.dir, 'relay.db'), () => Date.now());
    store.enqueue(Array.from({ length: 100 }, (_, i) => ({ type: 'event' as const, id: `e${i}`, body: { n: i } })));
    let session: MacLinkSession | null = null;
    const client = new LinkClient({
      url: `ws://127.0.0.1:${port}`, keys: relay, hubPublicKey: hub.publicKey, clock: systemClock, logger: silentLogger(),
      channel: DEFAULT_CHANNEL_OPTIONS, backoff: { baseMs: 10, capMs: 20 },
      onChannel: (ch) => {
        session = new MacLinkSession({ channel: ch, store, logger: silentLogger(), agent: 'test', options: { window: 10, batch: 4 }, onReady: () => undefined });
        session.start();
      },
    });
    client.start();
    try {
      await waitFor(() => received.length >= 10, 'first window');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(received, Array.from({ length: 10 }, (_, i) => i + 1), 'exactly the window, in order, then it waits');
      acked = 6;
      channels.at(-1)!.send({ t: 'ack', seq: 6 });
      await waitFor(() => received.length >= 16, 'window moved');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received.at(-1), 16, 'six acknowledged, six more sent');
      received.length = 0;
      channels.at(-1)!.close(4005, 'drop');
      await waitFor(() => received.length >= 10, 'resend after reconnect');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(received, Array.from({ length: 10 }, (_, i) => i + 7), 'resends from the first unacknowledged, in order');
    } finally {
      client.stop();
      await server.close();
      store.close();
      t.cleanup();
    }
  });
});
