// Contract §11 scenarios 36–45: send (every target kind, formatting, reply_to, a file whose bytes are
// taken before the answer, unknown chat, Mac offline), concurrent processes, out-of-order answers and
// a large non-ASCII message — against a real hub + relay + simulated Messages with the §11 fixture.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DM7, GROUP9, ImsgEnv } from '../support/imsg-env.js';
import type { Line } from '../support/imsg-process.js';
import { assertMessageShape } from '../support/imsg-shape.js';

const BASE = { service: 'auto', region: 'US', transport: 'auto' };

describe('imsg-relay: send, concurrency, large text (contract §11, 36–45)', () => {
  const env = new ImsgEnv();
  before(async () => { await env.start(); });
  after(async () => { await env.stop(); });

  const okSend = (r: Line): { id: number; guid: string } => {
    assert.equal(r.error, undefined, `send failed: ${JSON.stringify(r.error)}`);
    assert.equal(r.result!['ok'], true);
    assert.ok(Number.isSafeInteger(r.result!['id']), `id ${String(r.result!['id'])}`);
    assert.ok(typeof r.result!['guid'] === 'string' && r.result!['guid'] !== '' && !/^\d+$/.test(r.result!['guid']));
    return { id: r.result!['id'] as number, guid: r.result!['guid'] as string };
  };

  it('36, 43: send to chat 7 while a watch runs and a probe runs: the watch shows the same id and guid, from me, from the first line', async () => {
    const watch = env.spawn();
    await watch.subscribe({ attachments: false, include_reactions: true });
    const sender = env.spawn();
    const probe = env.spawn();
    const [sent, probed] = await Promise.all([
      sender.request('send', { text: 'hi', ...BASE, chat_id: 7 }, 60_000),
      probe.request('chats.list', { limit: 1 }),
    ]);
    const { id, guid } = okSend(sent);
    assert.equal(sent.result!['chat_guid'], DM7.guid);
    assert.equal(sent.result!['service'], 'iMessage');
    assert.ok(Array.isArray(probed.result!['chats']));
    const echo = await watch.message(id);
    assertMessageShape(echo);
    assert.deepEqual([echo.guid, echo.is_from_me, echo.text, echo.chat_id], [guid, true, 'hi', 7]);
    // A later inbound row marks the end of everything the send produced on this stream.
    const marker = env.inbound('marker 36');
    await watch.message(marker.rowid);
    assert.deepEqual(watch.messages().filter((m) => m.guid === guid).map((m) => m.is_from_me), [true], 'never shown as not from me');
    const ids = watch.messages().map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    await Promise.all([watch.close(), sender.close(), probe.close()]);
  });

  it('37: send with to (iMessage e-mail, SMS phone), with chat_guid and with chat_identifier: ok', async () => {
    const p = env.spawn();
    const targets = [
      { service: 'imessage', to: 'user@example.com' },
      { service: 'sms', to: '+15551230000' },
      { service: 'auto', chat_guid: GROUP9.guid },
      { service: 'auto', chat_identifier: GROUP9.identifier },
    ];
    for (const t of targets) okSend(await p.request('send', { text: 'hi', region: 'US', transport: 'auto', ...t }, 60_000));
    await p.close();
    const sends = env.relay.sends().slice(-4);
    assert.equal(sends.length, 4);
  });

  it('38, 39: formatting is ignored, reply_to is ignored: ok', async () => {
    const p = env.spawn();
    okSend(await p.request('send', { text: 'hello there', formatting: [{ start: 0, length: 5, styles: ['bold'] }], ...BASE, chat_id: 7 }, 60_000));
    okSend(await p.request('send', { text: 'threaded', reply_to: 'G-101', ...BASE, chat_id: 7 }, 60_000));
    await p.close();
  });

  it('40: send with a file deleted the moment the answer arrives: the Mac still gets every byte', async () => {
    const file = join(env.dir, 'out.txt');
    const bytes = Buffer.from(`outbound file ${'x'.repeat(50_000)} end`);
    writeFileSync(file, bytes);
    const p = env.spawn();
    p.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'send', params: { text: '', file, ...BASE, chat_id: 7 } }));
    const r = await p.waitFor((l) => l.id === 1, 'the send answer', 60_000);
    rmSync(file);
    okSend(r);
    await p.close();
    const sent = env.relay.sends().filter((s) => s.file !== undefined && s.file !== null).pop()!;
    assert.deepEqual(sent.file, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  });

  it('41: send to an unknown chat_id: −32602', async () => {
    const p = env.spawn();
    const r = await p.request('send', { text: 'x', ...BASE, chat_id: 424242 }, 30_000);
    await p.close();
    assert.equal(r.error!.code, -32602);
    assert.match(JSON.stringify(r.error), /424242/);
  });

  it('44: a slow send and a chats.list in one process: both answered, each with its own id', async () => {
    env.relay.messages({ sentAfterMs: 50, finalAfterMs: 50, sendDelayMs: 3000 });
    const p = env.spawn();
    p.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'send', params: { text: 'slow one', ...BASE, chat_id: 7 } }));
    p.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'chats.list', params: { limit: 20 } }));
    const [one, two] = await Promise.all([p.waitFor((l) => l.id === 1, 'send', 60_000), p.waitFor((l) => l.id === 2, 'chats.list')]);
    okSend(one);
    assert.ok(Array.isArray(two.result!['chats']));
    assert.ok(p.lines.indexOf(two) < p.lines.indexOf(one), 'the list did not wait behind the slow send');
    await p.close();
    env.relay.messages({ sentAfterMs: 50, finalAfterMs: 50 });
  });

  it('45: an inbound message of 100 000 characters with emoji and CJK arrives as one line, text identical', async () => {
    const text = Array.from({ length: 100_000 }, (_, i) => ['a', '漢', '字', 'é', ' '][i % 5]).join('').slice(0, 99_991) + '😀🎉👍🏽x';
    assert.ok(text.length >= 100_000);
    const p = env.spawn();
    await p.subscribe({ attachments: false, include_reactions: true });
    const row = env.inbound(text);
    const m = await p.message(row.rowid, 30_000);
    assert.equal(Buffer.compare(Buffer.from(m.text!, 'utf8'), Buffer.from(text, 'utf8')), 0);
    await p.close();
  });

  it('42: send while the Mac is offline: an error at once, data not_started/retry_safe, no "Timed out waiting for response"', async () => {
    await env.relay.mac!.stop();
    const p = env.spawn();
    const started = Date.now();
    const r = await p.request('send', { text: 'nobody home', ...BASE, chat_id: 7 }, 60_000);
    await p.close();
    assert.ok(Date.now() - started < 30_000);
    assert.deepEqual(r.error!.data, { disposition: 'not_started', retry_safe: true });
    assert.ok(!JSON.stringify(r).includes('Timed out waiting for response'));
    // 10 with the Mac (not the hub) unreachable: the chats still come, from the hub's table.
    const probe = env.spawn();
    const listed = await probe.request('chats.list', { limit: 20 }, 10_000);
    await probe.close();
    assert.ok([7, 9].every((id) => (listed.result!['chats'] as Array<{ id: number }>).some((c) => c.id === id)));
    await env.relay.startMac();
  });
});

