// Sends that were made must be found, end to end (real hub and relay processes, the fake osascript
// running our JXA): a text holding U+FFFC, a row landing after 600 others (an iCloud sync), a ghost
// row after 600 others, and a file over `attachments.maxBytes` refused with the documented code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv, TOKEN } from '../support/relay-env.js';
import { fromMeRows, postSend, sendsOf, sendStatus } from '../support/send-api.js';
import { hubFetch } from '../support/openapi-contract.js';

/** The same DM as macOS 26 names it; Messages' scripting layer resolves it to a phantom (ghost row). */
const ANY_DM = 'any;-;+15555550123';

describe('the sender finds the rows its sends made', () => {
  const env = new RelayEnv();
  before(async () => {
    await env.prepare({
      hubApi: { maxFileBytes: 3_000_000 },
      macExtra: { attachments: { stagingDir: join(env.dir, 'home', 'Library', 'Messages', 'Attachments', 'imessage-relay'), maxBytes: 1_000_000, waitSeconds: 3 } },
    });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
  });
  after(() => env.close());

  it('a text holding U+FFFC is confirmed with its row\'s guid, and its from-me event at the hub names the command', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    const text = 'the picture \uFFFC is above';
    const id = await postSend(env, { chat_guid: DM, text });
    const c = await sendStatus(env, id, ['delivered', 'failed', 'unknown']);
    const rows = fromMeRows(env, text);
    assert.equal(rows.length, 1, 'Messages wrote one row');
    assert.deepEqual({ status: c.status, guid: c.apple_guid, error: c.error }, { status: 'delivered', guid: rows[0]!.guid, error: null });
    assert.equal(sendsOf(env, text), 1);
    await waitFor(() => env.receiver.received.some((r) => r.body.event['kind'] === 'from_me' && r.body.event['guid'] === rows[0]!.guid), 'its from_me event at the hub', 15_000);
    const ev = env.receiver.received.find((r) => r.body.event['kind'] === 'from_me' && r.body.event['guid'] === rows[0]!.guid)!;
    assert.equal(ev.body.event['command_id'], id, 'the hub can tell the relay\'s reply from the user typing');
    assert.equal(ev.body.prompt, false);
  });

  it('600 unrelated rows landing between the noted ROWID and the send\'s row: the row is still found', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, noiseBefore: 600 });
    const text = 'found after an iCloud sync';
    const id = await postSend(env, { chat_guid: DM, text });
    const c = await sendStatus(env, id, ['delivered', 'failed', 'unknown']);
    const rows = fromMeRows(env, text);
    assert.equal(rows.length, 1);
    const before = Number(env.writer.db.prepare("SELECT COUNT(*) FROM message WHERE text LIKE 'synced %' AND ROWID < ?").pluck().get(rows[0]!.rowid));
    assert.equal(before, 600, 'the 600 rows came between');
    assert.deepEqual({ status: c.status, guid: c.apple_guid }, { status: 'delivered', guid: rows[0]!.guid });
    assert.equal(sendsOf(env, text), 1);
  });

  it('a ghost row past 600 other rows is still detected: failed GHOST_ROW, not unknown', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, noiseBefore: 600, phantomChats: [ANY_DM], chats: [] });
    const id = await postSend(env, { chat_guid: ANY_DM, text: 'into the void after a sync' });
    const c = await sendStatus(env, id, ['failed', 'unknown', 'delivered']);
    assert.equal(c.status, 'failed', JSON.stringify(c));
    assert.match(c.error ?? '', /^GHOST_ROW: /);
    assert.equal(sendsOf(env, 'into the void after a sync'), 1);
  });

  it('a file over attachments.maxBytes fails with STAGING_TOO_LARGE (the documented code), and Messages never sees it', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    const f = new FormData();
    f.set('chat_guid', DM);
    f.set('file', new Blob([new Uint8Array(randomBytes(1_500_000))], { type: 'application/octet-stream' }), 'big.bin');
    const res = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/messages`, { method: 'POST', body: f, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 202, await res.clone().text());
    const id = ((await res.json()) as { id: string }).id;
    const c = await sendStatus(env, id, ['failed', 'unknown', 'delivered', 'sent']);
    assert.equal(c.status, 'failed');
    assert.match(c.error ?? '', /^STAGING_TOO_LARGE: /);
    assert.equal(env.sends().filter((s) => s.direct.kind === 'file').length, 0);
  });
});
