// One item too large for the hub is refused on its own (PROTOCOL.md §4.2): the items around it are
// stored, the ack passes it and names it, the link stays open. The same for commands: the API does
// not queue one it could not send, and one queued before the limit was lowered ends failed, unsent.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { writeNewKeyFile, type KeyPair } from '../../relay/link/keys.js';
import { createLogger } from '../../relay/logger.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { rawLink, type RawLink } from '../support/raw-link.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';
import { hubFetch } from '../support/openapi-contract.js';

const TOKEN = 'refusal-test-token-0123456789';
/** A small limit, as an in-process hub may have (the config's minimum is higher), so items stay one frame. */
const LIMIT = 128 * 1024;

const event = (guid: string, text = 'x'): Record<string, unknown> => ({ kind: 'message', guid, rowid: 1, date: null, service: 'iMessage', sender: '+1555', chat: null, backlog: false, text, attachments: [], reply_to: null, mentions: [], decode_error: null, truncated: false });
const item = (seq: number, guid: string, text?: string) => ({ seq, type: 'event' as const, id: `message:${guid}`, body: event(guid, text) });

function makeHub(dir: string, relay: KeyPair, maxItemBytes: number, logs: string[] = []): Hub {
  const logger = createLogger({ destination: new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }) });
  return new Hub({
    clock: systemClock, logger,
    config: inProcessHubConfig(dir, { token: TOKEN, relays: [['alice', relay]], link: { maxItemBytes } }),
  });
}

async function connect(url: string, keys: KeyPair, store: string, cmdAcked = 0): Promise<RawLink> {
  const link = await rawLink(url, keys);
  link.send(link.seal({ t: 'hello', v: 1, agent: 'test', store, cmd_acked: cmdAcked }));
  await waitFor(() => link.received.some((m) => m.t === 'welcome'), 'welcome');
  return link;
}

const api = (port: number, path: string, init: RequestInit = {}): Promise<Response> =>
  hubFetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });

describe('the hub refuses one oversized item, not the link', () => {
  const tmp = tempDir();
  const logs: string[] = [];
  let hub: Hub;
  let apiPort = 0;
  let link: RawLink;

  const acks = (): Array<Extract<LinkMessage, { t: 'ack' }>> => link.received.filter((m): m is Extract<LinkMessage, { t: 'ack' }> => m.t === 'ack');
  const stored = async (): Promise<string[]> => {
    const res = await api(apiPort, '/v1/events?after=0&limit=1000');
    return ((await res.json()) as { events: Array<{ event: { guid: string } }> }).events.map((e) => e.event.guid);
  };

  before(async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = makeHub(tmp.dir, relay, LIMIT, logs);
    const ports = await hub.start();
    apiPort = ports.apiPort;
    link = await connect(`ws://127.0.0.1:${ports.linkPort}`, relay, 'store-1');
  });
  after(async () => { link.ws.close(); await hub.stop(); tmp.cleanup(); });

  it('stores the items around it, acks past it naming it, and keeps the link open', async () => {
    const big = 'y'.repeat(LIMIT + 1);
    link.send(link.seal({ t: 'items', items: [item(1, 'BEFORE'), item(2, 'HUGE', big), item(3, 'AFTER')] }));
    await waitFor(() => acks().length === 1, 'the ack');
    const [ack] = acks();
    assert.equal(ack!.seq, 3, 'acked past the refused item');
    assert.deepEqual(ack!.refused?.map((r) => [r.seq, r.code]), [[2, 'ITEM_TOO_LARGE']]);
    assert.match(ack!.refused![0]!.message, new RegExp(`over the hub's limit of ${LIMIT} bytes`));
    assert.deepEqual(await stored(), ['BEFORE', 'AFTER']);
    // Refused as the last item of a message: the ack still passes it; the next message is stored.
    link.send(link.seal({ t: 'items', items: [item(4, 'HUGE-2', big)] }));
    await waitFor(() => acks().length === 2, 'the second ack');
    assert.equal(acks()[1]!.seq, 4);
    assert.deepEqual(acks()[1]!.refused?.map((r) => r.seq), [4]);
    link.send(link.seal({ t: 'items', items: [item(5, 'LAST')] }));
    await waitFor(() => acks().length === 3, 'the third ack');
    assert.deepEqual(acks()[2], { t: 'ack', seq: 5 }, 'no refusals: no refused field');
    assert.deepEqual(await stored(), ['BEFORE', 'AFTER', 'LAST']);
    assert.equal(link.ws.readyState, link.ws.OPEN, 'the link stayed open');
    const metrics = await (await hubFetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    assert.match(metrics, /imessage_relay_items_refused_total\{code="ITEM_TOO_LARGE"\} 2\n/);
    assert.ok(logs.some((l) => l.includes('relay item refused: too large') && !l.includes(big)), 'logged, without the text');
  });

  it('POST /v1/messages: a command larger than the link takes is 413 COMMAND_TOO_LARGE, never queued', async () => {
    const tooBig = await api(apiPort, '/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: 'iMessage;-;+1555', text: 'é'.repeat(100_000) }) });
    assert.equal(tooBig.status, 413);
    assert.equal(((await tooBig.json()) as { error: { code: string } }).error.code, 'COMMAND_TOO_LARGE');
    const ok = await api(apiPort, '/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: 'iMessage;-;+1555', text: 'a reply' }) });
    assert.equal(ok.status, 202);
    const id = ((await ok.json()) as { id: string }).id;
    await waitFor(() => link.received.some((m) => m.t === 'commands'), 'the command on the link');
    const sent = link.received.flatMap((m) => (m.t === 'commands' ? m.items : []));
    assert.deepEqual(sent.map((c) => c.id), [id], 'only the one that fits was queued and sent');
  });
});

describe('commands queued before the hub\'s limit was lowered', () => {
  const tmp = tempDir();
  let hub: Hub | null = null;

  after(async () => { await hub?.stop(); tmp.cleanup(); });

  it('one too large ends failed with ITEM_TOO_LARGE and is never sent; the next one is', async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = makeHub(tmp.dir, relay, 4 * 1024 * 1024);
    let ports = await hub.start();
    const post = async (text: string): Promise<string> => {
      const res = await api(ports.apiPort, '/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: 'iMessage;-;+1555', text }) });
      assert.equal(res.status, 202);
      return ((await res.json()) as { id: string }).id;
    };
    const bigId = await post('é'.repeat(100_000));
    const nextId = await post('the next reply');
    await hub.stop();
    hub = makeHub(tmp.dir, relay, LIMIT);
    ports = await hub.start();
    const link = await connect(`ws://127.0.0.1:${ports.linkPort}`, relay, 'store-1');
    await waitFor(() => link.received.some((m) => m.t === 'commands'), 'commands on the link');
    const sent = link.received.flatMap((m) => (m.t === 'commands' ? m.items : []));
    assert.deepEqual(sent.map((c) => c.id), [nextId]);
    const big = (await (await api(ports.apiPort, `/v1/messages/${bigId}`)).json()) as { status: string; error: string };
    assert.equal(big.status, 'failed');
    assert.match(big.error, /^ITEM_TOO_LARGE: /);
    assert.equal(link.ws.readyState, link.ws.OPEN);
    link.ws.close();
  });
});
