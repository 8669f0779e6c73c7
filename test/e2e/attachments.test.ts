// Files both ways, end to end with the real hub and relay processes: an upload at the hub becomes a
// file in Messages (staged where its sandbox can read it, checked, cleaned up), and an incoming
// attachment's bytes reach GET /v1/attachments/{guid}, even when its file lands late.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeAttributedBody } from '../../relay/simulator/typedstream-writer.js';
import { sleep, waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv, TOKEN, attachmentFromAlice, fetchAttachment } from '../support/relay-env.js';
import { hubFetch } from '../support/openapi-contract.js';

const GROUP = 'iMessage;+;chat888000000000000001';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Command { id: string; status: string; apple_guid: string | null; error: string | null; file: { id: string; name: string; bytes: number; sha256: string } | null; followed_by?: Command }

async function status(env: RelayEnv, id: string, want: string[], timeoutMs = 15_000): Promise<Command> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await (await env.api(`/v1/messages/${id}`)).json() as Command;
    if (want.includes(c.status) || Date.now() > until) return c;
    await sleep(50);
  }
}

function form(fields: Record<string, string>, file?: { bytes: Buffer; name: string; type: string }): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  if (file !== undefined) f.set('file', new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
  return f;
}

const postForm = (env: RelayEnv, body: FormData, headers: Record<string, string> = {}): Promise<Response> =>
  hubFetch(`http://127.0.0.1:${env.apiPort}/v1/messages`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

describe('attachments', () => {
  const env = new RelayEnv();
  let staging = '';
  let incoming = '';
  before(async () => {
    await env.prepare({
      hubApi: { maxFileBytes: 3_000_000 },
      macExtra: { attachments: { stagingDir: join(env.dir, 'home', 'Library', 'Messages', 'Attachments', 'imessage-relay'), maxBytes: 2_000_000, waitSeconds: 3, roots: [join(env.dir, 'home', 'Library', 'Messages')] } },
    });
    staging = join(env.dir, 'home', 'Library', 'Messages', 'Attachments', 'imessage-relay');
    incoming = join(env.dir, 'home', 'Library', 'Messages', 'Attachments', 'in');
    mkdirSync(incoming, { recursive: true });
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, readableRoot: join(env.dir, 'home', 'Library', 'Messages') });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    env.writer.chat({ guid: GROUP, identifier: 'chat888000000000000001', group: true, name: 'Crew', participants: [ALICE, 'bob@example.com'] });
    await env.startLinked();
  });
  after(() => env.close());

  it('a file with a text (multipart) reaches Messages intact from the staging folder, then the text; both delivered; staging cleaned up', async () => {
    const bytes = randomBytes(600_000);
    const res = await postForm(env, form({ chat_guid: DM, text: 'look at this' }, { bytes, name: '../photo of us.jpeg', type: 'image/jpeg' }));
    assert.equal(res.status, 202, await res.clone().text());
    const c = await res.json() as Command;
    assert.deepEqual({ name: c.file?.name, bytes: c.file?.bytes, sha256: c.file?.sha256 }, { name: 'photo of us.jpeg', bytes: 600_000, sha256: sha(bytes) }, 'the name is made safe');
    assert.ok(c.followed_by !== undefined, 'the text is a second message');
    const file = await status(env, c.id, ['delivered']);
    const text = await status(env, c.followed_by.id, ['delivered']);
    assert.equal(file.status, 'delivered', JSON.stringify(file));
    assert.equal(text.status, 'delivered');
    const sends = env.sends().slice(-2);
    assert.equal(sends[0]!.direct.kind, 'file');
    assert.equal(sends[0]!.direct.value, join(staging, c.id, 'photo of us.jpeg'), 'staged under <stagingDir>/<uuid>/<name>');
    assert.deepEqual(sends[0]!.file, { bytes: 600_000, sha256: sha(bytes) }, 'Messages got exactly the uploaded bytes');
    assert.deepEqual(sends[1]!.direct, { kind: 'text', value: 'look at this' }, 'then the text');
    await waitFor(() => !existsSync(join(staging, c.id)), 'staging folder removed after delivery', 5000);
    // The from-me row of our file comes back as an event that names the command; its bytes are served.
    await waitFor(() => env.receiver.received.some((r) => r.body.event['kind'] === 'from_me' && r.body.event['command_id'] === c.id), 'from_me event of the file');
    const ev = env.receiver.received.find((r) => r.body.event['command_id'] === c.id)!.body.event as { attachments: Array<{ url: string; name: string }> };
    assert.equal(ev.attachments[0]!.name, 'photo of us.jpeg');
    const served = await fetchAttachment(env, ev.attachments[0]!.url);
    assert.equal(served.status, 200);
    assert.equal(sha(new Uint8Array(await served.arrayBuffer())), sha(bytes));
  });

  it('an uploaded file sent by reference to a group ends sent; a repeated Idempotency-Key sends it once', async () => {
    const bytes = randomBytes(300_000);
    const up = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/files?name=${encodeURIComponent('notes.pdf')}`, {
      method: 'POST', body: bytes, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/pdf' },
    });
    assert.equal(up.status, 201);
    const f = await up.json() as { id: string; sha256: string; bytes: number; mime_type: string };
    assert.deepEqual({ sha256: f.sha256, bytes: f.bytes, mime_type: f.mime_type }, { sha256: sha(bytes), bytes: 300_000, mime_type: 'application/pdf' });
    const before = env.sends().length;
    const body = JSON.stringify({ chat_guid: GROUP, file_id: f.id });
    const a = await env.api('/v1/messages', { method: 'POST', body, headers: { 'idempotency-key': 'file-1' } });
    const b = await env.api('/v1/messages', { method: 'POST', body, headers: { 'idempotency-key': 'file-1' } });
    const [ca, cb] = [await a.json() as Command, await b.json() as Command];
    assert.equal(cb.id, ca.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    const done = await status(env, ca.id, ['sent', 'failed']);
    assert.equal(done.status, 'sent');
    await waitFor(() => !existsSync(join(staging, ca.id)), 'staging folder removed once the transfer finished', 5000);
    await sleep(300);
    assert.equal(env.sends().length - before, 1, 'one send for two identical requests');
  });

  it('a file Messages cannot read ends failed with its error, and its folder is removed', async () => {
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, readableRoot: join(env.dir, 'elsewhere') });
    try {
      const res = await postForm(env, form({ chat_guid: DM }, { bytes: randomBytes(1000), name: 'x.bin', type: 'application/octet-stream' }));
      const c = await res.json() as Command;
      const done = await status(env, c.id, ['failed', 'delivered']);
      assert.equal(done.status, 'failed');
      assert.match(done.error ?? '', /MESSAGES_ERROR_25/);
      await waitFor(() => !existsSync(join(staging, c.id)), 'staging folder removed after failure', 5000);
    } finally {
      env.messages({ sentAfterMs: 50, finalAfterMs: 50, readableRoot: join(env.dir, 'home', 'Library', 'Messages') });
    }
  });

  it('refuses what it cannot send: too large (413), empty, no text nor file, an unknown file id, a broken multipart body', async () => {
    const big = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/files?name=big.bin`, { method: 'POST', body: new Uint8Array(3_000_001), headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'FILE_TOO_LARGE');
    const empty = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/files?name=e.bin`, { method: 'POST', body: new Uint8Array(0), headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(empty.status, 400);
    const none = await postForm(env, form({ chat_guid: DM }));
    assert.equal(none.status, 400);
    const unknown = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, file_id: '00000000-0000-4000-8000-000000000000' }) });
    assert.equal(unknown.status, 404);
    const broken = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/messages`, {
      method: 'POST', body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nno end', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'BAD_MULTIPART');
    assert.deepEqual(readdirSync(join(env.dir, 'hub', 'files', 'out')).filter((n) => n.endsWith('.tmp')), [], 'no partial uploads left behind');
  });

  it('an incoming attachment whose file lands after its row: pending (503), then its exact bytes; the event carries the url', async () => {
    const bytes = randomBytes(700_000);
    const path = join(incoming, 'late.heic');
    const row = env.writer.insert({ chat: DM, handle: ALICE, text: '\uFFFC', body: encodeAttributedBody('\uFFFC', [{ length: 1, fileTransferGuid: 'at_0_LATE' }]) });
    env.writer.attach(row.rowid, { guid: 'at_0_LATE', filename: path, name: 'late.heic', mimeType: 'image/heic', bytes: bytes.length });
    await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === row.guid), 'message event');
    const ev = env.receiver.received.find((r) => r.body.event['guid'] === row.guid)!.body.event as { attachments: Array<{ url: string; missing: boolean }> };
    assert.equal(ev.attachments[0]!.url, '/v1/attachments/at_0_LATE');
    const pending = await hubFetch(`http://127.0.0.1:${env.apiPort}${ev.attachments[0]!.url}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(pending.status, 503);
    assert.equal(pending.headers.get('retry-after'), '2');
    // The download arrives in two pieces; only the complete file travels.
    writeFileSync(path, bytes.subarray(0, 300_000));
    await sleep(1200);
    appendFileSync(path, bytes.subarray(300_000));
    const res = await fetchAttachment(env, ev.attachments[0]!.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/heic');
    assert.equal(res.headers.get('x-content-sha256'), sha(bytes));
    assert.equal(sha(new Uint8Array(await res.arrayBuffer())), sha(bytes));
  });

  it('a file that never appears ends 410 missing after the bounded wait; one over the limit ends 410 too_large', async () => {
    attachmentFromAlice(env, { guid: 'at_0_GONE', filename: join(incoming, 'never.jpg'), name: 'never.jpg', bytes: 10 });
    const bigPath = join(incoming, 'big.mov');
    writeFileSync(bigPath, randomBytes(2_100_000));
    attachmentFromAlice(env, { guid: 'at_0_BIG', filename: bigPath, name: 'big.mov', bytes: 2_100_000 });
    const tooLarge = await fetchAttachment(env, '/v1/attachments/at_0_BIG');
    assert.equal(tooLarge.status, 410);
    assert.equal(((await tooLarge.json()) as { error: { code: string } }).error.code, 'ATTACHMENT_TOO_LARGE');
    const missing = await fetchAttachment(env, '/v1/attachments/at_0_GONE', 10_000);
    assert.equal(missing.status, 410);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'ATTACHMENT_MISSING');
    const unknown = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/attachments/at_0_NOPE`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(unknown.status, 404);
    // Nothing fails silently: both sides count what became of each file.
    const hubMetrics = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text();
    assert.match(hubMetrics, /attachments_total\{state="too_large"\} 1/);
    assert.match(hubMetrics, /attachments_total\{state="missing"\} 1/);
    assert.match(hubMetrics, /attachments_total\{state="ready"\} [1-9]/);
    const macMetrics = await (await fetch(`http://127.0.0.1:${env.healthPort}/metrics`)).text();
    assert.match(macMetrics, /attachments_total\{status="missing"\} 1/);
  });
});

describe('attachments survive kill -9', () => {
  const env = new RelayEnv();
  let incoming = '';
  before(async () => {
    await env.prepare({ macExtra: { attachments: { stagingDir: join(env.dir, 'staging'), waitSeconds: 30 } } });
    incoming = join(env.dir, 'Messages', 'Attachments'); // under chat.db's folder: the default attachments.roots
    mkdirSync(incoming, { recursive: true });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
  });
  after(() => env.close());

  it('a 12 MB attachment arrives intact although the hub is killed mid-transfer and the relay is killed before it reconnects', async () => {
    const bytes = randomBytes(12 * 1024 * 1024);
    const path = join(incoming, 'video.mov');
    writeFileSync(path, bytes);
    await env.startMac();
    attachmentFromAlice(env, { guid: 'at_0_VIDEO', filename: path, name: 'video.mov', mimeType: 'video/quicktime', bytes: bytes.length });
    await env.mac!.waitForLog(/^attachment queued for the hub$/);
    await env.mac!.kill9();
    await env.startMac();
    await env.startHub();
    const partDir = join(env.dir, 'hub', 'files', 'in');
    await waitFor(() => readdirSync(partDir).some((n) => n.endsWith('.part')), 'first chunks at the hub', 15_000);
    await env.hub!.kill9();
    await env.startHub();
    const res = await fetchAttachment(env, '/v1/attachments/at_0_VIDEO', 30_000);
    assert.equal(res.status, 200);
    assert.equal(sha(new Uint8Array(await res.arrayBuffer())), sha(bytes));
  });

  it('a relay killed in the middle of receiving a 10 MB file gets the rest after restart and sends exactly those bytes', async () => {
    await env.mac!.waitForLog(/^link up$/);
    const bytes = randomBytes(10 * 1024 * 1024);
    const res = await postForm(env, form({ chat_guid: DM }, { bytes, name: 'big.zip', type: 'application/zip' }));
    const c = await res.json() as Command;
    const incoming = join(env.dir, 'staging', c.id, '.incoming');
    await waitFor(() => existsSync(incoming), 'first chunks staged', 15_000);
    await env.mac!.kill9();
    await env.startMac();
    const done = await status(env, c.id, ['delivered', 'failed', 'unknown'], 30_000);
    assert.equal(done.status, 'delivered', JSON.stringify(done));
    const sent = env.sends().filter((x) => x.direct.value.endsWith('/big.zip'));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.file, { bytes: bytes.length, sha256: sha(bytes) }, 'Messages got exactly the uploaded bytes');
  });

  it('a relay killed while Messages is sending a file reconciles it after restart: found, followed, never sent twice', async () => {
    await env.mac!.waitForLog(/^link up$/);
    env.messages({ sentAfterMs: 50, finalAfterMs: 50, sendDelayMs: 2500 });
    try {
      const bytes = randomBytes(300_000);
      const res = await postForm(env, form({ chat_guid: DM }, { bytes, name: 'slow.pdf', type: 'application/pdf' }));
      const c = await res.json() as Command;
      assert.equal((await status(env, c.id, ['sending'])).status, 'sending');
      await env.mac!.kill9(); // osascript is still inside Messages' send; the row comes after the relay died
      await env.startMac();
      const done = await status(env, c.id, ['delivered', 'failed', 'unknown'], 20_000);
      assert.equal(done.status, 'delivered', JSON.stringify(done));
      assert.equal(env.sends().filter((x) => x.direct.value.endsWith('/slow.pdf')).length, 1, 'one send');
      assert.equal(env.writer.db.prepare("SELECT COUNT(*) FROM attachment WHERE transfer_name = 'slow.pdf'").pluck().get(), 1, 'one row');
      await waitFor(() => !existsSync(join(env.dir, 'staging', c.id)), 'staging folder removed after delivery', 5000);
    } finally {
      env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    }
  });

  it('a file whose bytes changed on the way is refused by the relay before Messages sees it', async () => {
    await env.mac!.stop();
    const bytes = randomBytes(400_000);
    const up = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/files?name=a.bin`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${TOKEN}` } });
    const f = await up.json() as { id: string };
    const res = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, file_id: f.id }) });
    const c = await res.json() as Command;
    // The bytes rot on the hub's disk after their SHA-256 was taken.
    const tampered = Buffer.from(bytes);
    tampered[123_456] = tampered[123_456]! ^ 0x01;
    writeFileSync(join(env.dir, 'hub', 'files', 'out', f.id), tampered);
    const sendsBefore = env.sends().length;
    await env.startMac();
    const done = await status(env, c.id, ['failed', 'sent', 'delivered']);
    assert.equal(done.status, 'failed');
    assert.match(done.error ?? '', /^STAGING_CORRUPT/);
    assert.equal(env.sends().length, sendsBefore, 'Messages never saw it');
    assert.equal(existsSync(join(env.dir, 'staging', c.id)), false, 'nothing left staged');
  });
});

describe('attachments with uploads off', () => {
  const env = new RelayEnv();
  before(async () => {
    await env.prepare({ macExtra: { attachments: { upload: false } } });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
  });
  after(() => env.close());

  it('says at once that the bytes will not come (410 ATTACHMENT_DISABLED), instead of leaving them pending', async () => {
    const path = join(env.dir, 'pic.jpg');
    writeFileSync(path, randomBytes(1000));
    attachmentFromAlice(env, { guid: 'at_0_OFF', filename: path, name: 'pic.jpg', bytes: 1000 });
    const res = await fetchAttachment(env, '/v1/attachments/at_0_OFF');
    assert.equal(res.status, 410);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ATTACHMENT_DISABLED');
  });
});
