// The hub's link queries against hand-driven relays (PROTOCOL.md §4.3): a version-1 relay (no `query`
// in its hello) is never sent one and the API answers from the hub at once; a relay that does not
// answer costs at most the 3 s timeout; an answer is merged into the hub's chat table and outlives the
// link. Waiting sends: one that went out unconfirmed is 504 SEND_UNCONFIRMED and stays queued; one
// that never left the hub is cancelled (504 SEND_NOT_STARTED) and is never sent afterwards.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { writeNewKeyFile, type KeyPair } from '../../relay/link/keys.js';
import { silentLogger } from '../../relay/logger.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';
import { hubFetch } from '../support/openapi-contract.js';
import { rawLink, type RawLink } from '../support/raw-link.js';

const TOKEN = 'link-queries-token-0123456789';
const DM = 'iMessage;-;+15550001111';

type Query = Extract<LinkMessage, { t: 'query' }>;

describe('link queries and waiting sends against hand-driven relays', () => {
  const tmp = tempDir();
  let hub: Hub;
  let relay: KeyPair;
  let url = '';
  let apiPort = 0;
  const links: RawLink[] = [];

  /** A request to the hub's API, its answer checked against openapi.json. */
  const api = (path: string, init: RequestInit = {}): Promise<Response> =>
    hubFetch(`http://127.0.0.1:${apiPort}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });

  /** A relay that says hello (with `caps` if given) and is welcomed. */
  async function connect(opts: { caps?: string[]; cmdAcked?: number } = {}): Promise<RawLink> {
    const link = await rawLink(url, relay);
    links.push(link);
    link.send(link.seal({ t: 'hello', v: 1, agent: 'test', store: 'store-1', cmd_acked: opts.cmdAcked ?? 0, ...(opts.caps === undefined ? {} : { caps: opts.caps }) }));
    await waitFor(() => link.received.some((m) => m.t === 'welcome'), 'welcome');
    return link;
  }
  async function disconnect(link: RawLink): Promise<void> {
    link.ws.close();
    await link.closed;
    const until = Date.now() + 5000;
    while (((await (await api('/health')).json()) as { components: { relays: { state: string } } }).components.relays.state === 'ok') {
      if (Date.now() > until) throw new Error('the hub still shows the relay connected');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const queries = (link: RawLink): Query[] => link.received.filter((m): m is Query => m.t === 'query');

  before(async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = new Hub({ clock: systemClock, logger: silentLogger(), config: inProcessHubConfig(tmp.dir, { token: TOKEN, relays: [['alice', relay]], logLevel: 'silent' }) });
    const ports = await hub.start();
    url = `ws://127.0.0.1:${ports.linkPort}`;
    apiPort = ports.apiPort;
  });
  after(async () => {
    for (const l of links) l.ws.terminate();
    await hub.stop();
    tmp.cleanup();
  });

  it('a version-1 relay is never sent a query: the hub answers from its own table at once and the link stays up', async () => {
    const link = await connect();
    const began = Date.now();
    const r = await (await api('/v1/chats')).json() as { chats: unknown[]; source: string };
    assert.equal(r.source, 'hub');
    assert.ok(Date.now() - began < 1000, `answered in ${Date.now() - began} ms`);
    assert.deepEqual(queries(link), []);
    assert.equal(link.ws.readyState, link.ws.OPEN);
    await disconnect(link);
  });

  it('a relay that announces queries but never answers costs at most the 3 s timeout, then the hub answers', async () => {
    const link = await connect({ caps: ['query'] });
    const began = Date.now();
    const r = await (await api('/v1/chats?limit=7')).json() as { source: string };
    const took = Date.now() - began;
    assert.equal(r.source, 'hub');
    assert.ok(took >= 2900 && took < 4500, `took ${took} ms`);
    assert.deepEqual(queries(link).map((q) => [q.q, q.params]), [['chats', { limit: 7 }]]);
    await disconnect(link);
  });

  it("the Mac's answer gives the chats their ids, kept by the hub after the link goes; its UNKNOWN_CHAT is a 404", async () => {
    const link = await connect({ caps: ['query'] });
    link.ws.on('message', () => {
      for (const q of queries(link)) {
        if ((q as { answered?: boolean }).answered === true) continue;
        (q as { answered?: boolean }).answered = true;
        const answer: LinkMessage = q.q === 'chats'
          ? { t: 'answer', id: q.id, result: { chats: [{ id: 41, guid: DM, identifier: '+15550001111', name: null, service: 'iMessage', is_group: false, participants: ['+15550001111'], last_message_at: '2026-11-01T10:00:00.000Z' }] } }
          : { t: 'answer', id: q.id, error: { code: 'UNKNOWN_CHAT', message: 'chat.db has no chat 99' } };
        link.send(link.seal(answer));
      }
    });
    const mac = await (await api('/v1/chats')).json() as { chats: Array<{ id: number; guid: string; last_message_at: string }>; source: string };
    assert.equal(mac.source, 'mac');
    assert.deepEqual(mac.chats.map((c) => [c.id, c.guid, c.last_message_at]), [[41, DM, '2026-11-01T10:00:00.000Z']]);
    const missing = await api('/v1/chats/99/messages');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'UNKNOWN_CHAT');
    await disconnect(link);
    const hubSide = await (await api('/v1/chats')).json() as { chats: Array<{ id: number; guid: string }>; source: string };
    assert.equal(hubSide.source, 'hub');
    assert.deepEqual(hubSide.chats.map((c) => [c.id, c.guid]), [[41, DM]]);
    const history = await (await api('/v1/chats/41/messages')).json() as { messages: unknown[]; source: string };
    assert.deepEqual(history, { messages: [], source: 'hub' });
  });

  it('a waiting send the relay took but never confirmed: 504 SEND_UNCONFIRMED, and it stays queued', async () => {
    const link = await connect();
    const res = await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: 41, text: 'taken, never confirmed', wait: 1 }) });
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(res.status, 504);
    assert.equal(body.error.code, 'SEND_UNCONFIRMED');
    const sent = link.received.filter((m): m is Extract<LinkMessage, { t: 'commands' }> => m.t === 'commands').flatMap((m) => m.items);
    const cmd = sent.find((c) => c.body['text'] === 'taken, never confirmed');
    assert.ok(cmd !== undefined, 'the command went to the relay');
    assert.equal(cmd.body['chat_guid'], DM, 'the chat id became its guid');
    const shown = await (await api(`/v1/messages/${cmd.id}`)).json() as { status: string };
    assert.equal(shown.status, 'queued');
    await disconnect(link);
  });

  it('a waiting send that never left the hub is cancelled (504 SEND_NOT_STARTED) and never sent later', async () => {
    // A relay whose inbox claims every command up to a far seq: the hub sends it nothing new.
    const ahead = await connect({ cmdAcked: 1_000_000 });
    const res = await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: 41, text: 'never left', wait: 1 }) });
    const body = await res.json() as { error: { code: string } };
    assert.equal(res.status, 504);
    assert.equal(body.error.code, 'SEND_NOT_STARTED');
    await disconnect(ahead);
    // The same relay from scratch: every queued command is sent to it, but not the cancelled one.
    const fresh = await connect({ cmdAcked: 0 });
    const probe = await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_id: 41, text: 'after it' }) });
    const probeId = ((await probe.json()) as { id: string }).id;
    await waitFor(() => fresh.received.some((m) => m.t === 'commands' && m.items.some((c) => c.id === probeId)), 'the later command');
    const texts = fresh.received.filter((m): m is Extract<LinkMessage, { t: 'commands' }> => m.t === 'commands').flatMap((m) => m.items.map((c) => c.body['text']));
    assert.ok(!texts.includes('never left'), `sent: ${JSON.stringify(texts)}`);
    await disconnect(fresh);
  });

  it("a from-me row of the relay's own send is fed with its command id even when the Mac's event lacks it; the send shows its row", async () => {
    const link = await connect();
    const id = ((await (await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, text: 'mine' }) })).json()) as { id: string }).id;
    await waitFor(() => link.received.some((m) => m.t === 'commands' && m.items.some((c) => c.id === id)), 'the command');
    const chat = { guid: DM, id: 41, identifier: '+15550001111', name: null, is_group: false, participants: ['+15550001111'] };
    const event = (rowid: number, guid: string, kind: string, extra: Record<string, unknown>) => ({ kind, rowid, guid, date: new Date().toISOString(), service: 'iMessage', chat, backlog: false, text: 'x', attachments: [], reply_to: null, mentions: [], decode_error: null, truncated: false, ...extra });
    link.send(link.seal({ t: 'items', items: [
      { seq: 1, type: 'event', id: 'message:IN-1', body: event(5, 'IN-1', 'message', { sender: '+15550001111' }) },
      { seq: 2, type: 'result', id: `${id}:sent:OWN-1`, body: { command_id: id, status: 'sent', apple_guid: 'OWN-1', error: null, at: new Date().toISOString(), rowid: 6, chat_guid: DM, chat_id: 41, service: 'iMessage' } },
      { seq: 3, type: 'event', id: 'from_me:OWN-1', body: event(6, 'OWN-1', 'from_me', { sender: null, is_sent: true, error: null, command_id: null }) },
    ] }));
    await waitFor(() => link.received.some((m) => m.t === 'ack' && m.seq === 3), 'ack');
    const feed = await (await api('/v1/rows?after=-1')).json() as { rows: Array<{ rowid: number; kind: string; command_id?: string | null }>; next: number };
    assert.deepEqual(feed.rows.map((r) => [r.rowid, r.kind, r.command_id ?? null]), [[5, 'message', null], [6, 'from_me', id]]);
    assert.equal(feed.next, 6);
    const shown = await (await api(`/v1/messages/${id}`)).json() as { rowid: number; chat_id: number; apple_guid: string; status: string };
    assert.deepEqual([shown.status, shown.rowid, shown.chat_id, shown.apple_guid], ['sent', 6, 41, 'OWN-1']);
    const bad = await api('/v1/rows?after=abc');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'BAD_PARAMETER');
    await disconnect(link);
  });

  it('a waiting send with the relay offline is refused at once (503 RELAY_OFFLINE)', async () => {
    const res = await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, text: 'offline', wait: 5 }) });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'RELAY_OFFLINE');
  });
});
