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
    let cmdAcks = 0;
    /**
     * A round trip through the relay (an empty commands message, answered by cmd_ack on the same
     * socket): whatever the relay was going to send before answering has arrived when this resolves.
     */
    const roundTrip = async (): Promise<void> => {
      const want = cmdAcks + 1;
      channels.at(-1)!.send({ t: 'commands', items: [] });
      await waitFor(() => cmdAcks >= want, 'cmd_ack');
    };
    const server = new LinkServer({
      host: '127.0.0.1', port: 0, keys: hub, relays: new Map([[Buffer.from(relay.publicKey).toString('base64'), 'r']]),
      clock: systemClock, logger: silentLogger(), channel: DEFAULT_CHANNEL_OPTIONS,
      onChannel: (ch) => {
        channels.push(ch);
        ch.attach({
          message: (m: LinkMessage) => {
            if (m.t === 'hello') ch.send({ t: 'welcome', v: 1, acked, account: 'r' });
            if (m.t === 'items') for (const it of m.items) received.push(it.seq);
            if (m.t === 'cmd_ack') cmdAcks++;
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
      await roundTrip();
      assert.deepEqual(received, Array.from({ length: 10 }, (_, i) => i + 1), 'exactly the window, in order, then it waits');
      acked = 6;
      channels.at(-1)!.send({ t: 'ack', seq: 6 });
      await waitFor(() => received.length >= 16, 'window moved');
      await roundTrip();
      assert.deepEqual(received, Array.from({ length: 16 }, (_, i) => i + 1), 'six acknowledged, six more sent');
      assert.equal(store.depth().count, 100 - 6, 'the store holds what is not acknowledged');
      received.length = 0;
      const before = channels.length;
      channels.at(-1)!.close(4005, 'drop');
      await waitFor(() => channels.length > before && received.length >= 10, 'resend after reconnect');
      await roundTrip();
      assert.deepEqual(received, Array.from({ length: 10 }, (_, i) => i + 7), 'resends from the first unacknowledged, in order');
      // A hub restored from a backup holds less than it once acknowledged: the relay resends from what the hub says it holds.
      acked = 3;
      received.length = 0;
      const again = channels.length;
      channels.at(-1)!.close(4005, 'drop');
      await waitFor(() => channels.length > again && received.length >= 10, 'resend after the hub lost some');
      await roundTrip();
      assert.deepEqual(received, Array.from({ length: 10 }, (_, i) => i + 4), 'from seq 4, though the relay had seen 6 acknowledged');
    } finally {
      client.stop();
      await server.close();
      store.close();
      t.cleanup();
    }
  });
});
