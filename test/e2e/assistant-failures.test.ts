// When the model fails, users and operators see it: 429 with Retry-After is waited out and retried,
// a 500 is retried, a timeout, malformed JSON and an empty choice list end in the configured apology
// (at most once per chat per `apologyMinutes`), and enough failures in a row turn the hub's /health
// `degraded` with the reason, back to `ok` after the next answer. Whole pipeline, local model server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AssistantEnv } from '../support/assistant-env.js';
import { lastUserText, type ModelAnswer } from '../support/model-server.js';

const APOLOGY = 'Sorry, the assistant is unwell.';
const handles = ['+15555550201', '+15555550202', '+15555550203', '+15555550204', '+15555550205', '+15555550206'] as const;
const dm = (h: string): string => `iMessage;-;${h}`;

describe('built-in replies when the model fails', () => {
  const env = new AssistantEnv();
  /** What the model does with a message, by a word in it. */
  const script: Array<[RegExp, (i: number) => ModelAnswer]> = [];
  before(async () => {
    await env.startWith({ retries: 1, timeoutMs: 1000, maxRetryAfterMs: 5000, failureThreshold: 3, apologyText: APOLOGY, apologyMinutes: 60 },
      handles.map((h) => ({ guid: dm(h), identifier: h, participants: [h] })));
    env.model.respond = (r, i) => {
      const hit = script.find(([re]) => re.test(lastUserText(r)));
      return hit === undefined ? { reply: `fine: ${lastUserText(r)}` } : hit[1](i);
    };
  });
  after(() => env.close());

  it('a 429 with Retry-After is waited out, then the retry answers', async () => {
    let first = true;
    script.push([/rate me/, () => (first ? ((first = false), { status: 429, headers: { 'retry-after': '1' } }) : { reply: 'after the wait' })]);
    env.writer.insert({ chat: dm(handles[0]), handle: handles[0], text: 'rate me' });
    assert.deepEqual(await env.waitForSent(dm(handles[0]), 1), ['after the wait']);
    const reqs = env.model.requests.filter((r) => lastUserText(r) === 'rate me');
    assert.equal(reqs.length, 2);
    assert.ok(reqs[1]!.at - reqs[0]!.at >= 950, `retried after ${Math.round(reqs[1]!.at - reqs[0]!.at)} ms, Retry-After said 1 s`);
  });

  it('a 500 is retried; a second 500 ends in the apology instead of silence', async () => {
    let calls = 0;
    script.push([/flaky/, () => (++calls === 1 ? { status: 500 } : { reply: 'recovered' })]);
    script.push([/broken/, () => ({ status: 500 })]);
    env.writer.insert({ chat: dm(handles[1]), handle: handles[1], text: 'flaky' });
    assert.deepEqual(await env.waitForSent(dm(handles[1]), 1), ['recovered']);
    env.writer.insert({ chat: dm(handles[2]), handle: handles[2], text: 'broken' });
    assert.deepEqual(await env.waitForSent(dm(handles[2]), 1), [APOLOGY]);
    assert.equal(env.model.requests.filter((r) => lastUserText(r) === 'broken').length, 2, 'one try and one retry');
    await env.waitForMetric('assistant_failures_total', { code: 'ASSISTANT_MODEL_HTTP' }, 1);
  });

  it('slow past the timeout, malformed JSON, an empty choice list: each an apology, and the health turns degraded with the reason', async () => {
    script.push([/slow/, () => ({ reply: 'too late', delayMs: 3000 })]);
    script.push([/garbled/, () => ({ raw: '{"choices": [{"message": ' })]);
    script.push([/empty/, () => ({ raw: JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] }) })]);
    env.writer.insert({ chat: dm(handles[3]), handle: handles[3], text: 'slow' });
    assert.deepEqual(await env.waitForSent(dm(handles[3]), 1), [APOLOGY]);
    await env.waitForMetric('assistant_failures_total', { code: 'ASSISTANT_MODEL_TIMEOUT' }, 1);
    assert.equal(env.model.requests.filter((r) => lastUserText(r) === 'slow').length, 1, 'a timeout is not retried');
    env.writer.insert({ chat: dm(handles[4]), handle: handles[4], text: 'garbled' });
    assert.deepEqual(await env.waitForSent(dm(handles[4]), 1), [APOLOGY]);
    env.writer.insert({ chat: dm(handles[5]), handle: handles[5], text: 'empty' });
    assert.deepEqual(await env.waitForSent(dm(handles[5]), 1), [APOLOGY]);
    assert.equal(await env.metric('assistant_failures_total', { code: 'ASSISTANT_MODEL_BAD_RESPONSE' }), 2);
    const h = await env.hubHealth();
    assert.equal(h.status, 503);
    assert.equal(h.body.status, 'degraded');
    assert.equal(h.body.components['assistant']?.state, 'degraded');
    assert.equal(h.body.components['assistant']?.code, 'ASSISTANT_MODEL_BAD_RESPONSE');
    assert.match(h.body.components['assistant']?.reason ?? '', /failed \d+ replies in a row: the model answered with no choice/);
    // The public view (no token) says it too.
    const pub = await (await fetch(`http://127.0.0.1:${env.apiPort}/health`)).json() as { components: Record<string, { state: string; reason: string }> };
    assert.equal(pub.components['assistant']?.state, 'degraded');
  });

  it('a chat that failed again within apologyMinutes gets no second apology; the next answer brings health back to ok', async () => {
    const chat = dm(handles[5]);
    const failuresBefore = await env.metric('assistant_failures_total');
    env.writer.insert({ chat, handle: handles[5], text: 'empty again' });
    await env.waitForMetric('assistant_failures_total', {}, failuresBefore + 1);
    assert.equal(env.hubCommands().filter((c) => c.chat === chat).length, 1, 'still the one apology');
    script.length = 0;
    env.writer.insert({ chat, handle: handles[5], text: 'and now?' });
    assert.deepEqual(await env.waitForSent(chat, 2), [APOLOGY, 'fine: and now?']);
    const h = await env.hubHealth();
    assert.equal(h.body.components['assistant']?.state, 'ok');
    assert.equal(h.status, 200);
  });
});
