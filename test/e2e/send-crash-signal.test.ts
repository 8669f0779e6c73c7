// A send interrupted at exact moments, with real hub and relay processes: kill -9 of the relay while
// the fake osascript is inside `send` (it signals, then holds), before or after Messages wrote the
// row; osascript timing out after the row was written; and a restart with finished sends in the
// store (nothing re-reported). Never two rows for one command, never a second send.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { alive, fromMeRows, getSend, postSend, sendsOf, sendStatus, waitForSignal } from '../support/send-api.js';

const GROUP = 'iMessage;+;chat555000000000000001';
const SMS_HANDLE = '+15550004444';

/** The from-me event of this row at the hub's webhook, once it arrived. */
async function fromMeEvent(env: RelayEnv, guid: string): Promise<Record<string, unknown>> {
  await waitFor(() => env.receiver.received.some((r) => r.body.event['kind'] === 'from_me' && r.body.event['guid'] === guid), `the from_me event of ${guid}`, 15_000);
  return env.receiver.received.find((r) => r.body.event['kind'] === 'from_me' && r.body.event['guid'] === guid)!.body.event;
}

describe('kill -9 of the relay inside a send, and restarts', () => {
  const env = new RelayEnv();
  /** Fake osascript processes left holding inside `send` by a killed relay: released (or killed) by the test that made them. */
  const orphans: number[] = [];
  let n = 0;
  before(async () => {
    await env.prepare();
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    env.writer.chat({ guid: GROUP, identifier: 'chat555000000000000001', group: true, name: 'Crew', participants: [ALICE, 'bob@example.com'] });
    await env.startLinked();
  });
  after(async () => {
    for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await env.close();
  });

  /** Sends `text`, waits for the fake osascript's signal from inside `send` (at `at`), and kill -9s the relay right then. */
  async function killInsideSend(text: string, at: 'before-row' | 'after-row'): Promise<{ id: string; pid: number; release: string }> {
    n++;
    const signalFile = join(env.dir, `signal-${n}`);
    const release = join(env.dir, `release-${n}`);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, signalFile, signalAt: at, releaseFile: release });
    const id = await postSend(env, { chat_guid: DM, text });
    const signal = await waitForSignal(signalFile);
    await env.mac!.kill9();
    orphans.push(signal.pid);
    assert.equal(signal.text, text);
    assert.equal(fromMeRows(env, text).length, at === 'after-row' ? 1 : 0, `killed ${at === 'after-row' ? 'after' : 'before'} Messages wrote the row`);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    return { id, pid: signal.pid, release };
  }

  it('killed inside send after Messages wrote the row: after the restart one row, one send, the command takes the row\'s state and its event names it', async () => {
    const text = 'killed after the row';
    const { id, pid, release } = await killInsideSend(text, 'after-row');
    await env.startMac();
    const c = await sendStatus(env, id, ['delivered', 'failed', 'unknown']);
    const rows = fromMeRows(env, text);
    assert.equal(rows.length, 1);
    assert.deepEqual({ status: c.status, guid: c.apple_guid, error: c.error }, { status: 'delivered', guid: rows[0]!.guid, error: null });
    assert.equal(sendsOf(env, text), 1, 'never sent twice');
    assert.equal((await fromMeEvent(env, rows[0]!.guid))['command_id'], id);
    writeFileSync(release, '');
    await waitFor(() => !alive(pid), 'the held osascript to finish', 10_000);
    assert.equal(sendsOf(env, text), 1);
  });

  it('killed inside send before the row, which Messages writes while the relay is down: one row, one send, reconciled to the row', async () => {
    const text = 'killed before the row';
    const { id, pid, release } = await killInsideSend(text, 'before-row');
    writeFileSync(release, '');
    await waitFor(() => !alive(pid), 'the held osascript to finish', 10_000);
    assert.equal(fromMeRows(env, text).length, 1);
    await env.startMac();
    const c = await sendStatus(env, id, ['delivered', 'failed', 'unknown']);
    const rows = fromMeRows(env, text);
    assert.equal(rows.length, 1);
    assert.deepEqual({ status: c.status, guid: c.apple_guid }, { status: 'delivered', guid: rows[0]!.guid });
    assert.equal(sendsOf(env, text), 1, 'never sent twice');
    assert.equal((await fromMeEvent(env, rows[0]!.guid))['command_id'], id);
  });

  it('killed inside send before the row, and Messages never writes it: unknown, NO_ROW, not claiming osascript succeeded', async () => {
    const text = 'killed and never written';
    const { id, pid } = await killInsideSend(text, 'before-row');
    // Messages never gets to it: its osascript dies with the relay's send.
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 'the held osascript to be gone', 10_000);
    const mac = await env.startMac();
    const c = await sendStatus(env, id, ['unknown', 'delivered', 'failed']);
    assert.equal(c.status, 'unknown');
    assert.match(c.error ?? '', /^NO_ROW: /);
    assert.doesNotMatch(c.error ?? '', /osascript succeeded/, 'osascript never answered');
    const line = await mac.waitForLog(/^send unknown$/);
    assert.equal(line['id'], id);
    assert.doesNotMatch(String(line['error']), /osascript succeeded/);
    assert.equal(fromMeRows(env, text).length, 0);
    assert.equal(sendsOf(env, text), 0, 'not sent again after the restart');
  });

  it('stopped (SIGTERM) while osascript is inside the send: the send is confirmed with its row, and the relay exits', async () => {
    const signalFile = join(env.dir, 'signal-stop');
    const release = join(env.dir, 'release-stop');
    // The row stays unsent for a while: the sender hands it to its follower as it stops.
    env.messages({ sentAfterMs: 5000, finalAfterMs: 50, signalFile, signalAt: 'before-row', releaseFile: release });
    const text = 'sent while stopping';
    const id = await postSend(env, { chat_guid: DM, text });
    await waitForSignal(signalFile);
    const mac = env.mac!;
    const stopping = mac.stop();
    await mac.waitForLog(/^signal received: stopping$/);
    writeFileSync(release, '');
    const exited = await Promise.race([stopping.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 20_000))]);
    assert.equal(exited, true, 'the relay exits once its last send is confirmed');
    const rows = fromMeRows(env, text);
    assert.equal(rows.length, 1);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    await env.startMac();
    const c = await sendStatus(env, id, ['delivered', 'failed', 'unknown']);
    assert.deepEqual({ status: c.status, guid: c.apple_guid }, { status: 'delivered', guid: rows[0]!.guid });
    assert.equal(sendsOf(env, text), 1);
  });

  it('osascript times out after Messages wrote the row: one row, one send, the status taken from the row', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, hang: 'after-row' });
    const text = 'written, then osascript hung';
    const t0 = Date.now();
    const id = await postSend(env, { chat_guid: DM, text });
    const c = await sendStatus(env, id, ['delivered', 'failed', 'unknown'], 30_000);
    // The relay's osascript timeout is 5 s (relay-env): the status came after osascript was given up on.
    assert.ok(Date.now() - t0 >= 4500, `answered after the timeout (${Date.now() - t0} ms)`);
    const rows = fromMeRows(env, text);
    assert.equal(rows.length, 1);
    assert.deepEqual({ status: c.status, guid: c.apple_guid, error: c.error }, { status: 'delivered', guid: rows[0]!.guid, error: null });
    assert.equal(sendsOf(env, text), 1);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
  });

  it('a restart with finished group, SMS and DM sends in the store re-reports none of them; a row gone from chat.db stays as reported', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    const group = await Promise.all([1, 2, 3, 4].map((i) => postSend(env, { chat_guid: GROUP, text: `to the crew ${i}` })));
    const sms = await Promise.all([1, 2, 3].map((i) => postSend(env, { handle: SMS_HANDLE, service: 'SMS', text: `by SMS ${i}` })));
    const dms = await Promise.all([1, 2].map((i) => postSend(env, { chat_guid: DM, text: `a DM ${i}` })));
    for (const id of [...group, ...sms]) assert.equal((await sendStatus(env, id, ['sent', 'failed', 'unknown'])).status, 'sent');
    for (const id of dms) assert.equal((await sendStatus(env, id, ['delivered', 'failed', 'unknown'])).status, 'delivered');
    // The user deletes one group message in Messages while the relay is down.
    const gone = fromMeRows(env, 'to the crew 4')[0]!;
    await env.mac!.stop();
    env.writer.db.prepare('DELETE FROM chat_message_join WHERE message_id = ?').run(gone.rowid);
    env.writer.db.prepare('DELETE FROM message WHERE ROWID = ?').run(gone.rowid);
    const mac = await env.startMac();
    await mac.waitForLog(/^link up$/);
    // The sender looks at what it left behind before it takes the next command: once this one is through, it is done.
    const next = await postSend(env, { chat_guid: DM, text: 'after the restart' });
    assert.equal((await sendStatus(env, next, ['delivered', 'failed', 'unknown'])).status, 'delivered');
    const old = new Set([...group, ...sms, ...dms]);
    const reReported = mac.lines.filter((l) => /^send /.test(l.msg) && old.has(String(l['id']))).map((l) => `${l.msg} ${String(l['id'])}`);
    const statuses: string[] = [];
    for (const id of [...group, ...sms, ...dms]) statuses.push((await getSend(env, id)).status);
    assert.deepEqual({ reReported, statuses }, { reReported: [], statuses: [...group.map(() => 'sent'), ...sms.map(() => 'sent'), ...dms.map(() => 'delivered')] },
      'nothing reported again; the deleted one is still sent');
    for (const t of ['to the crew 1', 'by SMS 1', 'a DM 1']) assert.equal(sendsOf(env, t), 1, t);
  });
});
