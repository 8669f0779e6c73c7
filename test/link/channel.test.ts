// The real client and server over loopback: the pinned hub key, large messages in parts, backoff.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { systemClock } from '../../relay/clock.js';
import { Backoff } from '../../relay/link/backoff.js';
import { DEFAULT_CHANNEL_OPTIONS, type SealedChannel } from '../../relay/link/channel.js';
import { LinkClient } from '../../relay/link/client.js';
import { fingerprint, generateKeyPair } from '../../relay/link/keys.js';
import { LinkServer } from '../../relay/link/server.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { createLogger, silentLogger } from '../../relay/logger.js';
import { waitFor } from '../support/chatdb-env.js';

async function pair(opts: { wrongHubKey?: boolean; maxFrameBytes?: number } = {}) {
  const hub = generateKeyPair();
  const relay = generateKeyPair();
  const serverSide: SealedChannel[] = [];
  const options = { ...DEFAULT_CHANNEL_OPTIONS, maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_CHANNEL_OPTIONS.maxFrameBytes };
  const server = new LinkServer({
    host: '127.0.0.1', port: 0, keys: hub, relays: new Map([[Buffer.from(relay.publicKey).toString('base64'), 'r']]),
    clock: systemClock, logger: silentLogger(), channel: options, onChannel: (c) => serverSide.push(c),
  });
  const port = await server.listen();
  const logs: string[] = [];
  const clientSide: SealedChannel[] = [];
  const client = new LinkClient({
    url: `ws://127.0.0.1:${port}`, keys: relay, hubPublicKey: opts.wrongHubKey === true ? generateKeyPair().publicKey : hub.publicKey,
    clock: systemClock, channel: options, backoff: { baseMs: 20, capMs: 50 },
    logger: createLogger({ destination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) }),
    onChannel: (c) => clientSide.push(c),
  });
  client.start();
  return { hub, server, client, serverSide, clientSide, logs };
}

describe('link client and server', () => {
  it('the relay refuses a hub whose key is not the pinned one, and says so', async () => {
    const p = await pair({ wrongHubKey: true });
    try {
      await waitFor(() => p.logs.some((l) => l.includes('not the pinned one')), 'refusal logged');
      assert.ok(p.logs.some((l) => l.includes(fingerprint(p.hub.publicKey))), 'the presented key fingerprint is logged');
      assert.equal(p.clientSide.length, 0, 'no channel handed over');
      await waitFor(() => p.client.dials >= 2, 'keeps redialling with backoff');
    } finally {
      p.client.stop();
      await p.server.close();
    }
  });

  it('carries a message larger than a frame in parts, and reconnects after the server drops it', async () => {
    const p = await pair({ maxFrameBytes: 16 * 1024 });
    try {
      await waitFor(() => p.clientSide.length === 1 && p.serverSide.length === 1, 'channel');
      const got: LinkMessage[] = [];
      p.serverSide[0]!.attach({ message: (m) => got.push(m), close: () => undefined });
      const big = 'x'.repeat(3 * 1024 * 1024);
      p.clientSide[0]!.send({ t: 'bye', reason: big });
      await waitFor(() => got.length === 1, 'big message', 10_000);
      assert.equal(got[0]!.t === 'bye' && got[0]!.reason.length, big.length);
      p.serverSide[0]!.close(4005, 'replaced');
      await waitFor(() => p.clientSide.length === 2, 'redialled and handed over a new channel');
    } finally {
      p.client.stop();
      await p.server.close();
    }
  });

  it('backoff is full jitter between 0 and min(cap, base·2^n), reset after a good connection', () => {
    const b = new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0.999);
    const delays = Array.from({ length: 10 }, () => b.next());
    assert.deepEqual(delays.slice(0, 4), [499, 999, 1998, 3996]);
    assert.ok(delays.every((d) => d < 30_000) && delays.at(-1)! >= 29_000);
    b.reset();
    assert.equal(b.next(), 499);
    assert.equal(new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0).next(), 0);
  });
});
