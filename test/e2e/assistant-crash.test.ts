// The hub killed (kill -9) while the model is working on a reply: after the restart the message is
// answered, exactly once; and a restart after a reply went out does not answer it again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AssistantEnv } from '../support/assistant-env.js';
import { lastUserText } from '../support/model-server.js';
import { ALICE, DM } from '../support/relay-env.js';

describe('built-in replies across a hub crash', () => {
  const env = new AssistantEnv();
  before(() => env.startWith({}, [{ guid: DM, identifier: ALICE, participants: [ALICE] }]));
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
});
