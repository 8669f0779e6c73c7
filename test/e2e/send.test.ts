// Replies through Messages, end to end: POST /v1/messages at the hub → the relay's sender runs our
// real JXA through the fake osascript → the row in chat.db → GET /v1/messages/{id} and webhooks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';

const GROUP = 'iMessage;+;chat777000000000000001';

async function post(env: RelayEnv, body: Record<string, unknown>): Promise<string> {
  const res = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

async function finalStatus(env: RelayEnv, id: string, want: string[], timeoutMs = 15_000): Promise<{ status: string; apple_guid: string | null; error: string | null }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await (await env.api(`/v1/messages/${id}`)).json() as { status: string; apple_guid: string | null; error: string | null };
    if (want.includes(c.status) || Date.now() > until) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rowsWithText = (env: RelayEnv, text: string): number =>
  Number(env.writer.db.prepare('SELECT COUNT(*) FROM message WHERE is_from_me = 1 AND text = ?').pluck().get(text));

describe('sending replies through Messages', () => {
  const env = new RelayEnv();
  before(async () => {
    await env.prepare();
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    env.writer.chat({ guid: GROUP, identifier: 'chat777000000000000001', group: true, name: 'Crew', participants: [ALICE, 'bob@example.com'] });
    await env.startLinked();
  });
  after(() => env.close());

  it('a reply to a DM is sent once, found in chat.db, reported delivered, and its from-me event names the command', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    const id = await post(env, { chat_guid: DM, text: 'See you at 6' });
    const c = await finalStatus(env, id, ['delivered']);
    assert.equal(c.status, 'delivered');
    assert.match(c.apple_guid ?? '', /^[0-9A-F-]{36}$/);
    assert.equal(rowsWithText(env, 'See you at 6'), 1);
    await waitFor(() => env.receiver.received.some((r) => r.body.event['kind'] === 'from_me' && r.body.event['guid'] === c.apple_guid), 'from_me event');
    const ev = env.receiver.received.find((r) => r.body.event['guid'] === c.apple_guid && r.body.event['kind'] === 'from_me')!;
    assert.equal(ev.body.event['command_id'], id, 'marked as sent by the relay');
    assert.equal(ev.body.prompt, false);
    await waitFor(() => env.receiver.received.some((r) => r.body.event['kind'] === 'delivery' && r.body.event['guid'] === c.apple_guid), 'delivery event');
  });

  it('a reply to a group ends sent (groups have no delivery receipts); a new DM by handle creates the chat', async () => {
    const g = await finalStatus(env, await post(env, { chat_guid: GROUP, text: 'hello crew' }), ['sent']);
    assert.equal(g.status, 'sent');
    const d = await finalStatus(env, await post(env, { handle: '+15550007777', service: 'iMessage', text: 'hi, new here' }), ['delivered']);
    assert.equal(d.status, 'delivered');
    assert.equal(env.writer.db.prepare("SELECT COUNT(*) FROM chat WHERE chat_identifier = '+15550007777'").pluck().get(), 1);
  });

  it('each failure mode gives the right result and never a second send', async () => {
    const sendsOf = (text: string): number => env.sends().filter((s) => s.direct.value === text).length;
    // A DM chat Messages' scripting layer does not know: -1728, then once through the handle.
    env.messages({ chats: [GROUP] });
    const viaHandle = await finalStatus(env, await post(env, { chat_guid: DM, text: 'via the handle' }), ['delivered', 'failed']);
    assert.equal(viaHandle.status, 'delivered');
    assert.equal(sendsOf('via the handle'), 1);
    // A group Messages does not know: failed, nothing sent.
    env.messages({ chats: [DM] });
    const nf = await finalStatus(env, await post(env, { chat_guid: GROUP, text: 'lost group' }), ['failed']);
    assert.match(nf.error ?? '', /OSA_NOT_FOUND/);
    assert.equal(sendsOf('lost group'), 0);
    // Automation denied: failed, and the relay's health says why.
    env.messages({ tcc: 'denied' });
    const denied = await finalStatus(env, await post(env, { chat_guid: DM, text: 'no permission' }), ['failed']);
    assert.match(denied.error ?? '', /OSA_AUTOMATION_DENIED/);
    const h = await env.health();
    assert.equal(h.body.components['messages']?.state, 'degraded');
    assert.match(h.body.components['messages']?.reason ?? '', /Automation/);
    // Error 22 a moment after sending: failed, one send.
    env.messages({ outcome: 'error:22', sentAfterMs: 100 });
    const e22 = await finalStatus(env, await post(env, { chat_guid: DM, text: 'unreachable' }), ['failed']);
    assert.match(e22.error ?? '', /MESSAGES_ERROR_22/);
    assert.equal(sendsOf('unreachable'), 1);
    // macOS 26 ghost row: osascript succeeds, Messages writes an empty unjoined row: failed.
    env.messages({ phantomChats: ['any;-;+15555550123'], chats: [] });
    const ghost = await finalStatus(env, await post(env, { chat_guid: 'any;-;+15555550123', text: 'into the void' }), ['failed']);
    assert.match(ghost.error ?? '', /GHOST_ROW/);
    // Hangs past the timeout before writing anything: unknown, never retried.
    env.messages({ hang: 'before-row' });
    const hung = await finalStatus(env, await post(env, { chat_guid: DM, text: 'hanging' }), ['unknown'], 20_000);
    assert.equal(hung.status, 'unknown');
    assert.match(hung.error ?? '', /OSA_TIMEOUT/);
    // Slow but fine.
    env.messages({ sendDelayMs: 1500, sentAfterMs: 50, finalAfterMs: 50 });
    assert.equal((await finalStatus(env, await post(env, { chat_guid: DM, text: 'slowly' }), ['delivered'])).status, 'delivered');
    assert.equal(sendsOf('hanging'), 0);
    for (const t of ['lost group', 'no permission', 'hanging']) assert.equal(rowsWithText(env, t), 0, t);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
  });
});
