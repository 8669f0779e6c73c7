// The assistant's pure parts: the conversation a chat's stored events make (order, edits, unsends,
// the bound), and who is answered (from-me and backlog never, groups only when addressed, the allowlist).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildHistory } from '../../relay/assistant/history.js';
import { decide } from '../../relay/assistant/policy.js';

const chat = { guid: 'iMessage;-;+15550001', identifier: '+15550001', is_group: false, participants: ['+15550001'] };
const group = { guid: 'iMessage;+;chat1', identifier: 'chat1', is_group: true, participants: ['+15550001', 'b@x.org'] };
const msg = (guid: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ kind: 'message', guid, text, sender: '+15550001', chat, backlog: false, attachments: [], mentions: [], ...extra });
let seq = 0;
const stored = (...events: Array<Record<string, unknown>>): Array<{ seq: number; event: Record<string, unknown> }> => events.map((event) => ({ seq: ++seq, event }));

describe('assistant history', () => {
  it('keeps user messages and replies in order; an edit replaces the text in place, an unsend removes the message', () => {
    const h = buildHistory(stored(
      msg('a', 'first'), { kind: 'from_me', guid: 'r', text: 'reply', chat }, msg('b', 'second'),
      { kind: 'edit', guid: 'a', text: 'first, edited', chat }, { kind: 'unsend', guid: 'b', chat }, msg('c', 'third'),
    ), 10);
    assert.deepEqual(h.map((e) => `${e.role}:${e.text}`), ['user:first, edited', 'assistant:reply', 'user:third']);
  });

  it('is bounded to the newest `max` messages, and carries image attachments only', () => {
    const events = stored(...Array.from({ length: 30 }, (_, i) => msg(`m${i}`, `n${i}`)),
      msg('pic', '', { attachments: [{ guid: 'at1', mime_type: 'image/png' }, { guid: 'at2', mime_type: 'application/pdf' }] }));
    const h = buildHistory(events, 5);
    assert.deepEqual(h.map((e) => e.text), ['n26', 'n27', 'n28', 'n29', '']);
    assert.deepEqual(h.at(-1)!.images, [{ guid: 'at1', mime_type: 'image/png' }]);
  });
});

describe('assistant policy', () => {
  const p = { allow: [] as string[], name: 'Robo', handles: ['me@icloud.com'] };

  it('never answers from-me rows or backlog; answers a fresh DM', () => {
    assert.deepEqual(decide({ ...msg('x', 'hi'), kind: 'from_me' }, p), { action: 'ignore', reason: 'not_a_message' });
    assert.deepEqual(decide(msg('x', 'hi', { backlog: true }), p), { action: 'ignore', reason: 'backlog' });
    assert.deepEqual(decide(msg('x', 'hi'), p), { action: 'answer' });
  });

  it('in a group: only when its name is a word of the text, or one of its handles is mentioned', () => {
    const g = (text: string, mentions: unknown[] = []): string => {
      const d = decide(msg('x', text, { chat: group, mentions }), p);
      return d.action === 'ignore' ? d.reason : d.action;
    };
    assert.equal(g('lunch anyone?'), 'not_addressed');
    assert.equal(g('Roboto is a font'), 'not_addressed');
    assert.equal(g('@robo what time is it'), 'answer');
    assert.equal(g('what do you think, Robo?'), 'answer');
    assert.equal(g('hey you', [{ handle: 'Me@iCloud.com', text: '@Owner' }]), 'answer');
    assert.equal(g('hey you', [{ handle: 'b@x.org', text: '@Bee' }]), 'not_addressed');
  });

  it('with an allowlist: listed handles and chats only; others are not_allowed', () => {
    const listed = { ...p, allow: ['+15550001', 'iMessage;+;chat1'] };
    assert.equal(decide(msg('x', 'hi'), listed).action, 'answer');
    assert.equal(decide(msg('x', 'hi', { sender: '+15559999', chat: { ...chat, guid: 'iMessage;-;+15559999', identifier: '+15559999' } }), listed).action, 'not_allowed');
    assert.equal(decide(msg('x', 'robo?', { sender: 'b@x.org', chat: group }), listed).action, 'answer', 'the group is listed');
  });
});
