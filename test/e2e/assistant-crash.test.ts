// The hub killed (kill -9) while the model is working on a reply: after the restart the message is
// answered, exactly once; a restart after a reply went out, or the moment it was queued (before the
// assistant's cursor moved), does not answer it again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AssistantEnv } from '../support/assistant-env.js';
import { FAKE_OSASCRIPT } from '../support/fake-messages.js';
import { lastUserText } from '../support/model-server.js';
import { ALICE, DM } from '../support/relay-env.js';

describe('built-in replies across a hub crash', () => {
  const env = new AssistantEnv();
  // A hub restarting on a busy machine can hold up the fake osascript past the usual 5 s: give it 30.
  before(() => env.startWith({}, [{ guid: DM, identifier: ALICE, participants: [ALICE] }],
    { sender: { osascript: FAKE_OSASCRIPT, perSecond: 50, perChatPerSecond: 50, confirmMs: 10_000, timeoutMs: 30_000 } }));
  after(() => env.close());

  it('kill -9 mid-reply: answered once after the restart; another restart answers nothing twice', async () => {
    env.model.respond = () => ({ hold: true, reply: 'answer from before the crash' });
    env.writer.insert({ chat: DM, handle: ALICE, text: 'crash me' });
    await env.model.waitForRequests(1);
    await env.hub!.kill9();
    env.model.release(); // the hub is gone: nobody reads this answer
    env.model.respond = (r) => ({ reply: `after restart: ${lastUserText(r)}` });
    await env.startHub();
    assert.deepEqual(await env.waitForSent(DM, 1), ['after restart: crash me']);
    assert.equal(env.model.requests.filter((r) => lastUserText(r) === 'crash me').length, 2, 'asked again once after the restart');

    // Once more, after the reply went out: nothing is asked or sent again for it.
    await env.hub!.kill9();
    await env.startHub();
    env.writer.insert({ chat: DM, handle: ALICE, text: 'still there?' });
    assert.deepEqual(await env.waitForSent(DM, 2), ['after restart: crash me', 'after restart: still there?']);
    assert.equal(env.model.requests.filter((r) => lastUserText(r) === 'crash me').length, 2);
    assert.equal(env.model.requests.length, 3);
  });

  it('kill -9 the moment the reply is queued: after the restart the model is not asked again and the reply is sent once', async () => {
    env.model.respond = (r) => ({ reply: `queued: ${lastUserText(r)}` });
    const before = env.model.requests.length;
    env.writer.insert({ chat: DM, handle: ALICE, text: 'queue then crash' });
    const until = Date.now() + 20_000;
    while (!env.hubCommands().some((c) => c.text === 'queued: queue then crash')) {
      if (Date.now() > until) throw new Error('the reply was never queued');
      await new Promise((r) => setTimeout(r, 5));
    }
    await env.hub!.kill9();
    await env.startHub();
    const sent = await env.waitForSent(DM, 3);
    assert.deepEqual(sent.slice(2), ['queued: queue then crash']);
    env.writer.insert({ chat: DM, handle: ALICE, text: 'one more' });
    assert.deepEqual((await env.waitForSent(DM, 4)).slice(2), ['queued: queue then crash', 'queued: one more']);
    assert.equal(env.model.requests.slice(before).filter((r) => lastUserText(r) === 'queue then crash').length, 1);
  });

  it('a graceful stop (SIGTERM) mid-reply: the message is answered after the restart', async () => {
    env.model.respond = () => ({ hold: true, reply: 'never read' });
    const before = env.model.requests.length;
    env.writer.insert({ chat: DM, handle: ALICE, text: 'stop me' });
    await env.model.waitForRequests(before + 1);
    await env.hub!.stop();
    env.model.release();
    env.model.respond = (r) => ({ reply: `after stop: ${lastUserText(r)}` });
    await env.startHub();
    const sent = await env.waitForSent(DM, 5);
    assert.equal(sent[4], 'after stop: stop me');
  });
});
