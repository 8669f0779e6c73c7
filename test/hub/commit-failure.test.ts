// A hub that cannot commit what a relay sent must not acknowledge it: the relay keeps the items and
// sends them again, and once the store works again they are stored once. Real hub, real SQLite
// file (a trigger makes its inserts fail, as a full disk would), a hand-driven relay on loopback.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { writeNewKeyFile, type KeyPair } from '../../relay/link/keys.js';
import { createLogger } from '../../relay/logger.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { rawLink, type RawLink } from '../support/raw-link.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';
import { hubFetch } from '../support/openapi-contract.js';

const TOKEN = 'commit-test-token-0123456789';
const event = (guid: string): Record<string, unknown> => ({ kind: 'message', guid, rowid: 1, date: null, service: 'iMessage', sender: '+1555', chat: null, backlog: false, text: 'x', attachments: [], reply_to: null, mentions: [], decode_error: null, truncated: false });
const items = (seq: number, guid: string): LinkMessage => ({ t: 'items', items: [{ seq, type: 'event', id: `message:${guid}`, body: event(guid) }] });

describe('a hub that cannot commit', () => {
  it('does not acknowledge items it failed to store; they are stored once when they come again', async () => {
    const tmp = tempDir();
    const logs: string[] = [];
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay: KeyPair = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    const hub = new Hub({
      clock: systemClock,
      logger: createLogger({ destination: new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }) }),
      config: inProcessHubConfig(tmp.dir, { token: TOKEN, relays: [['alice', relay]], link: { maxFrameBytes: 64 * 1024 } }),
    });
    const links: RawLink[] = [];
    try {
      const ports = await hub.start();
      const url = `ws://127.0.0.1:${ports.linkPort}`;
      const connect = async (): Promise<{ link: RawLink; acked: number }> => {
        const link = await rawLink(url, relay);
        links.push(link);
        link.send(link.seal({ t: 'hello', v: 1, agent: 'test', store: 'store-1', cmd_acked: 0 }));
        await waitFor(() => link.received.some((m) => m.t === 'welcome'), 'welcome');
        const welcome = link.received.find((m) => m.t === 'welcome');
        return { link, acked: welcome?.t === 'welcome' ? welcome.acked : -1 };
      };
      const stored = async (): Promise<string[]> => {
        const res = await hubFetch(`http://127.0.0.1:${ports.apiPort}/v1/events?after=0&limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return ((await res.json()) as { events: Array<{ event: { guid: string } }> }).events.map((e) => e.event.guid);
      };
      const acks = (l: RawLink): number[] => l.received.flatMap((m) => (m.t === 'ack' ? [m.seq] : []));

      const first = await connect();
      assert.equal(first.acked, 0);
      first.link.send(first.link.seal(items(1, 'A')));
      await waitFor(() => acks(first.link).includes(1), 'ack 1');

      const sabotage = new Database(join(tmp.dir, 'hub.db'));
      sabotage.exec("CREATE TRIGGER no_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;");
      let closed: { code: number; reason: string } | null = null;
      void first.link.closed.then((c) => { closed = c; });
      first.link.send(first.link.seal(items(2, 'B')));
      // Whichever comes first: the link dropped (right), or an ack for what was not stored (wrong).
      await waitFor(() => closed !== null || acks(first.link).includes(2), 'the hub to answer the failed write');
      assert.deepEqual(acks(first.link), [1], 'no ack for what was not stored');
      assert.equal((await first.link.closed).code, 1001, 'the hub drops the link');
      assert.ok(logs.some((l) => l.includes('storing relay items failed')), 'the failure is logged');
      assert.deepEqual(await stored(), ['A']);

      const second = await connect();
      assert.equal(second.acked, 1, 'the hub says it holds up to seq 1 only: the relay resends from 2');
      sabotage.exec('DROP TRIGGER no_events');
      sabotage.close();
      second.link.send(second.link.seal(items(2, 'B')));
      await waitFor(() => acks(second.link).includes(2), 'ack 2 once stored');
      assert.deepEqual(await stored(), ['A', 'B']);
    } finally {
      for (const l of links) l.ws.close();
      await hub.stop();
      tmp.cleanup();
    }
  });
});
