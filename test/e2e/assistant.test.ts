// Built-in replies, end to end: a message written into the simulated Messages' chat.db goes through
// the relay and the hub to a local chat-completions server; its answer comes back through the relay
// as a row sent into the same chat. Who is answered (allowlist, groups, backlog, from-me), what the
// model sees (history with edits and unsends, a burst, images), exactly once.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeAttributedBody } from '../../relay/simulator/typedstream-writer.js';
import { AssistantEnv, MODEL_KEY } from '../support/assistant-env.js';
import { fixture, needsFixtures } from '../support/fixtures.js';
import { contentText, lastUserText, type ModelRequest } from '../support/model-server.js';
import { ALICE, DM } from '../support/relay-env.js';

const BURSTER = '+15555550101';
const KEEPER = '+15555550102';
const STRANGER = '+15555550999';
const BOB = 'bob@example.com';
const dm = (h: string): string => `iMessage;-;${h}`;
const GROUP = 'iMessage;+;chat888000000000000001';
const NOTICE = 'This number only answers people it knows.';

/** The request whose last user message holds `text` (the first such). */
const requestFor = (reqs: readonly ModelRequest[], text: string): ModelRequest | undefined => reqs.find((r) => lastUserText(r).includes(text));
const roles = (r: ModelRequest): string[] => r.body.messages.map((m) => `${m.role}:${contentText(m.content)}`);

describe('built-in replies from a model, through the whole pipeline', () => {
  const env = new AssistantEnv();
  before(async () => {
    await env.startWith({
      systemPrompt: 'You are Robo.', allow: [ALICE, BURSTER, KEEPER, GROUP], notAllowedReply: NOTICE,
      name: 'Robo', handles: ['owner@example.com'], vision: true, maxHistory: 10,
    }, [
      { guid: DM, identifier: ALICE, participants: [ALICE] },
      { guid: dm(BURSTER), identifier: BURSTER, participants: [BURSTER] },
      { guid: dm(KEEPER), identifier: KEEPER, participants: [KEEPER] },
      { guid: dm(STRANGER), identifier: STRANGER, participants: [STRANGER] },
      { guid: GROUP, identifier: 'chat888000000000000001', participants: [ALICE, BOB], group: true },
    ]);
  });
  after(() => env.close());

  it('answers a DM once: the model gets the system prompt, the message and the key; the reply lands in chat.db, linked to the message', async () => {
    env.model.respond = (r) => ({ reply: `Hello back (${lastUserText(r)})` });
    const { guid } = env.writer.insert({ chat: DM, handle: ALICE, text: 'hello robo' });
    const sent = await env.waitForSent(DM, 1);
    assert.deepEqual(sent, ['Hello back (hello robo)']);
    const req = requestFor(env.model.requests, 'hello robo')!;
    assert.equal(req.headers.authorization, `Bearer ${MODEL_KEY}`);
    assert.equal(req.path, '/v1/chat/completions');
    assert.equal(req.body.model, 'test-model');
    assert.deepEqual(roles(req), ['system:You are Robo.', 'user:hello robo']);
    const cmd = env.hubCommands().find((c) => c.text === 'Hello back (hello robo)')!;
    assert.equal(cmd.key, `assistant:answer:message:${guid}`, 'the command is keyed by the message it answers');
    assert.equal(cmd.chat, DM);
  });

  it('a burst of three messages gets one answer, from a request that saw all three', async () => {
    const chat = dm(BURSTER);
    let n = 0;
    env.model.respond = (r) => (lastUserText(r).startsWith('burst') ? { reply: `answer ${++n} to ${r.body.messages.filter((m) => m.role === 'user').length} messages`, delayMs: 1500 } : { reply: 'ok' });
    const before = env.model.requests.length;
    env.writer.insert({ chat, handle: BURSTER, text: 'burst one' });
    await env.model.waitForRequests(before + 1); // the first is in flight at the model
    env.writer.insert({ chat, handle: BURSTER, text: 'burst two' });
    env.writer.insert({ chat, handle: BURSTER, text: 'burst three' });
    const [reply] = await env.waitForSent(chat, 1);
    assert.match(reply!, /^answer \d to 3 messages$/);
    // Next message: its request shows the conversation so far, with exactly one reply in it.
    env.model.respond = () => ({ reply: 'after the burst' });
    env.writer.insert({ chat, handle: BURSTER, text: 'and now?' });
    await env.waitForSent(chat, 2);
    const last = requestFor(env.model.requests, 'and now?')!;
    assert.deepEqual(roles(last).slice(1), ['user:burst one', 'user:burst two', 'user:burst three', `assistant:${reply}`, 'user:and now?']);
    assert.deepEqual(env.sentInto(chat), [reply, 'after the burst']);
  });

  it('a handle outside the allowlist gets the notice once and never reaches the model', async () => {
    const chat = dm(STRANGER);
    const before = env.model.requests.length;
    env.writer.insert({ chat, handle: STRANGER, text: 'who are you' });
    assert.deepEqual(await env.waitForSent(chat, 1), [NOTICE]);
    const second = env.writer.insert({ chat, handle: STRANGER, text: 'hello??' });
    // Once the hub has handed the second message on (webhook), the assistant has decided about it.
    await waitForWebhook(env, second.guid);
    assert.equal(env.hubCommands().filter((c) => c.chat === chat).length, 1, 'one notice only');
    assert.equal(env.model.requests.slice(before).filter((r) => /who are you|hello\?\?/.test(lastUserText(r))).length, 0);
  });

  it('in a group it answers only when addressed: by its name, or a mention of the account', async () => {
    env.model.respond = (r) => ({ reply: `group reply to: ${lastUserText(r)}` });
    const quiet = env.writer.insert({ chat: GROUP, handle: BOB, text: 'anyone up for pizza?' });
    await waitForWebhook(env, quiet.guid);
    env.writer.insert({ chat: GROUP, handle: ALICE, text: 'robo, what do you think?' });
    assert.deepEqual(await env.waitForSent(GROUP, 1), [`group reply to: ${ALICE}: robo, what do you think?`]);
    const byName = requestFor(env.model.requests, 'robo, what do you think?')!;
    assert.deepEqual(roles(byName).slice(1), [`user:${BOB}: anyone up for pizza?`, `user:${ALICE}: robo, what do you think?`], 'the unaddressed message is context, not a prompt');
    env.writer.insert({ chat: GROUP, handle: BOB, body: encodeAttributedBody('hey @Owner look', [{ length: 4 }, { length: 6, mention: 'owner@example.com' }, { length: 5 }]) });
    await env.waitForSent(GROUP, 2);
    assert.equal(env.model.requests.filter((r) => lastUserText(r).includes('pizza')).length, 0, 'the pizza message was never the one answered');
    assert.equal(env.sentInto(GROUP).length, 2);
  });

  it('backlog messages and rows sent from the account are never answered, but the model sees the from-me row as the account\'s', async () => {
    const chat = dm(KEEPER);
    env.model.respond = (r) => ({ reply: `keeper: ${lastUserText(r)}` });
    const old = env.writer.insert({ chat, handle: KEEPER, text: 'an old message from iCloud', dateMs: Date.now() - 3 * 24 * 3600_000 });
    const mine = env.writer.insert({ chat, fromMe: true, handle: KEEPER, text: 'typed on my phone', isSent: true });
    await waitForWebhook(env, old.guid);
    await waitForWebhook(env, mine.guid);
    env.writer.insert({ chat, handle: KEEPER, text: 'fresh question' });
    const sent = await env.waitForSent(chat, 2);
    assert.deepEqual(sent, ['typed on my phone', 'keeper: fresh question']);
    const req = requestFor(env.model.requests, 'fresh question')!;
    assert.deepEqual(roles(req).slice(1), ['user:an old message from iCloud', 'assistant:typed on my phone', 'user:fresh question']);
    assert.equal(env.model.requests.filter((r) => /old message from iCloud|typed on my phone/.test(lastUserText(r))).length, 0);
  });

  it('an edit replaces the text the model sees, an unsend removes it', { skip: needsFixtures }, async () => {
    env.model.respond = (r) => ({ reply: `noted: ${lastUserText(r)}` });
    const a = env.writer.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('meet at 5') });
    await env.waitForSent(DM, 2);
    const b = env.writer.insert({ chat: DM, handle: ALICE, body: encodeAttributedBody('my pin is 1234') });
    await env.waitForSent(DM, 3);
    const appleNow = (): bigint => BigInt(Date.now() - 978_307_200_000) * 1_000_000n;
    env.writer.update(a.rowid, { attributedBody: encodeAttributedBody('meet at 6'), message_summary_info: fixture('message-summary-info', 'Edited.plist'), date_edited: appleNow() });
    env.writer.update(b.rowid, { attributedBody: null, text: null, message_summary_info: fixture('message-summary-info', 'Deleted.plist'), date_edited: appleNow() });
    await waitForWebhook(env, a.guid, 'edit');
    await waitForWebhook(env, b.guid, 'unsend');
    env.writer.insert({ chat: DM, handle: ALICE, text: 'so, when?' });
    await env.waitForSent(DM, 4);
    const req = requestFor(env.model.requests, 'so, when?')!;
    const seen = roles(req).join('\n');
    assert.match(seen, /user:meet at 6/);
    assert.doesNotMatch(seen, /user:meet at 5|user:my pin is 1234/);
    assert.match(seen, /assistant:noted: my pin is 1234/, 'the reply to it stays (it was sent)');
  });

  it('an image the user sent reaches the model as an image input, read from the hub\'s file store', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('a tiny picture for the model')]);
    const dir = join(env.dir, 'Messages', 'Attachments', 'pic');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'photo.png'), png);
    env.model.respond = () => ({ reply: 'nice picture' });
    const before = env.sentInto(DM).length;
    const row = env.writer.insert({ chat: DM, handle: ALICE, text: 'what is this? \uFFFC' });
    env.writer.attach(row.rowid, { filename: join(dir, 'photo.png'), mimeType: 'image/png', uti: 'public.png', bytes: png.length });
    await env.waitForSent(DM, before + 1);
    const req = requestFor(env.model.requests, 'what is this?')!;
    const last = req.body.messages.at(-1)!;
    assert.ok(Array.isArray(last.content), 'a message with parts');
    const image = (last.content as Array<Record<string, unknown>>).find((p) => p['type'] === 'image_url') as { image_url: { url: string } } | undefined;
    assert.equal(image?.image_url.url, `data:image/png;base64,${png.toString('base64')}`);
  });
});

/** Waits until the hub has POSTed the event of `guid` (of `kind`) to the webhook: the hub has stored and handed it on. */
async function waitForWebhook(env: AssistantEnv, guid: string, kind?: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!env.receiver.received.some((r) => r.body.event['guid'] === guid && (kind === undefined || r.body.event['kind'] === kind))) {
    if (Date.now() > until) throw new Error(`no webhook for ${guid}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
