// The link's query/answer messages (PROTOCOL.md §4.3) as bytes: what the codec accepts and refuses,
// hello's optional caps (a version-1 hello stays valid), and the Mac's answers cut to one item.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { ChatHistory } from '../../relay/chatdb/history.js';
import { hasCode } from '../../relay/errors.js';
import { decodeMessage } from '../../relay/link/codec.js';
import { macQueryHandler } from '../../relay/mac/queries.js';
import { makeMessagesDb, tempDir } from '../support/chatdb-env.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const refused = (text: string): boolean => {
  try {
    decodeMessage(bytes(text));
    return false;
  } catch (err) {
    return hasCode(err, 'LINK_BAD_MESSAGE');
  }
};

describe('query and answer on the wire', () => {
  it('accepts a query, an answer with a result or an error, and hello with or without caps', () => {
    assert.deepEqual(decodeMessage(bytes('{"t":"query","id":1,"q":"chats","params":{"limit":2}}')), { t: 'query', id: 1, q: 'chats', params: { limit: 2 } });
    assert.equal(decodeMessage(bytes('{"t":"answer","id":1,"result":{"chats":[]}}')).t, 'answer');
    assert.equal(decodeMessage(bytes('{"t":"answer","id":2,"error":{"code":"UNKNOWN_QUERY","message":"no"}}')).t, 'answer');
    assert.equal(decodeMessage(bytes('{"t":"hello","v":1,"agent":"a","store":"s","cmd_acked":0}')).t, 'hello');
    assert.deepEqual((decodeMessage(bytes('{"t":"hello","v":1,"agent":"a","store":"s","cmd_acked":0,"caps":["query"]}')) as { caps?: string[] }).caps, ['query']);
  });

  it('refuses malformed ones', () => {
    for (const bad of [
      '{"t":"query","id":-1,"q":"chats","params":{}}', '{"t":"query","id":1,"q":5,"params":{}}', '{"t":"query","id":1,"q":"chats","params":[]}',
      '{"t":"answer","id":1}', '{"t":"answer","id":1,"result":{},"error":{"code":"X","message":"y"}}', '{"t":"answer","id":1,"result":[1]}',
      '{"t":"answer","id":1,"error":{"code":1,"message":"y"}}', '{"t":"hello","v":1,"agent":"a","store":"s","cmd_acked":0,"caps":"query"}',
      '{"t":"hello","v":1,"agent":"a","store":"s","cmd_acked":0,"caps":[1]}',
    ]) assert.ok(refused(bad), bad);
  });
});

describe("the Mac's query answers", () => {
  it('cuts a history answer to the newest messages that fit one item, marked partial; unknown queries and bad params are errors', async () => {
    const t = tempDir();
    const w = makeMessagesDb(t.dir, 'minimal');
    const h = new ChatHistory({ path: w.path, homeDir: t.dir, clock: systemClock });
    try {
      const id = w.chat({ guid: 'iMessage;-;+1555', identifier: '+1555', participants: ['+1555'] });
      const big = 'x'.repeat(200_000);
      const guids = Array.from({ length: 20 }, (_, i) => w.insert({ chat: 'iMessage;-;+1555', handle: '+1555', text: `${i} ${big}` }).guid);
      const answer = macQueryHandler(h, 1024 * 1024);
      const r = await answer('history', { chat_id: id, limit: 20 }) as { messages: Array<{ guid: string }>; partial: boolean };
      assert.equal(r.partial, true);
      assert.ok(r.messages.length > 0 && r.messages.length < 20, `${r.messages.length} messages`);
      assert.ok(Buffer.byteLength(JSON.stringify(r)) <= 1024 * 1024);
      assert.deepEqual(r.messages.map((m) => m.guid), guids.slice().reverse().slice(0, r.messages.length), 'the newest ones');
      const whole = await macQueryHandler(h, 32 * 1024 * 1024)('history', { chat_id: id, limit: 20 }) as { messages: unknown[]; partial: boolean };
      assert.deepEqual([whole.messages.length, whole.partial], [20, false]);
      await assert.rejects(answer('sql', {}), (e) => hasCode(e, 'UNKNOWN_QUERY'));
      await assert.rejects(answer('history', { chat_id: 'one' }), (e) => hasCode(e, 'BAD_QUERY'));
      await assert.rejects(answer('history', { chat_id: id + 100 }), (e) => hasCode(e, 'UNKNOWN_CHAT'));
    } finally {
      h.close();
      w.close();
      t.cleanup();
    }
  });
});
