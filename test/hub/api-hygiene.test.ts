// The hub's API at its edges, against the real hub and relay processes: a malformed path is a 400,
// an internal failure a bare 500 whose detail only the log has, idempotency keys that cannot collide
// with another call's, a 401 that does not read an endless body, and /health that shows no account or handle
// to anyone without the token.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DM, RelayEnv, TOKEN } from '../support/relay-env.js';
import { waitFor } from '../support/chatdb-env.js';
import { hubFetch } from '../support/openapi-contract.js';

type ErrorBody = { error: { code: string; message: string; request_id: string } };
type Command = { id: string; followed_by?: { id: string } };

describe('hub API hygiene', () => {
  const env = new RelayEnv();

  before(async () => {
    // Commands wait in the relay's inbox: this is about the hub's API, not about sending.
    await env.prepare({ webhook: false, macExtra: { sender: { enabled: false } } });
    await env.startLinked();
  });
  after(() => env.close());

  const send = (body: Record<string, unknown>, key: string): Promise<Response> =>
    env.api('/v1/messages', { method: 'POST', body: JSON.stringify(body), headers: { 'idempotency-key': key } });

  it('answers a malformed percent-encoding in a path with 400 BAD_PATH and a request id', async () => {
    for (const [method, path] of [['GET', '/v1/messages/%E0%A4%A'], ['GET', '/v1/attachments/%ZZ'], ['HEAD', '/v1/attachments/abc%'], ['POST', '/v1/dead-letters/%/1/retry']] as const) {
      const res = await env.api(path, { method });
      assert.equal(res.status, 400, `${method} ${path}`);
      const id = res.headers.get('x-request-id');
      assert.match(id ?? '', /^[0-9a-f-]{36}$/);
      if (method !== 'HEAD') assert.deepEqual(await res.json(), { error: { code: 'BAD_PATH', message: 'the path has a malformed percent-encoding', request_id: id } });
    }
  });

  it('keeps a file-and-text call\'s second key out of reach of other keys: "k1#1" then "k1" both work, and repeat', async () => {
    const upload = await env.api('/v1/files?name=note.txt', { method: 'POST', body: 'hello file', headers: { 'content-type': 'text/plain' } });
    assert.equal(upload.status, 201);
    const fileId = ((await upload.json()) as { id: string }).id;

    const textOnly = await send({ chat_guid: DM, text: 'the k1#1 text' }, 'k1#1');
    assert.equal(textOnly.status, 202);
    const a = (await textOnly.json()) as Command;
    const withFile = await send({ chat_guid: DM, text: 'the k1 text', file_id: fileId }, 'k1');
    assert.equal(withFile.status, 202, await withFile.clone().text());
    const b = (await withFile.json()) as Command;
    assert.ok(b.followed_by !== undefined && new Set([a.id, b.id, b.followed_by.id]).size === 3, 'three distinct commands');

    const againA = await send({ chat_guid: DM, text: 'the k1#1 text' }, 'k1#1');
    assert.equal(againA.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(((await againA.json()) as Command).id, a.id);
    const againB = await send({ chat_guid: DM, text: 'the k1 text', file_id: fileId }, 'k1');
    assert.equal(againB.headers.get('idempotent-replayed'), 'true');
    const b2 = (await againB.json()) as Command;
    assert.deepEqual([b2.id, b2.followed_by?.id], [b.id, b.followed_by.id]);

    // The other order: "k2" with a file and text first, then "k2#1" is a new call, not the text of "k2".
    const first = (await (await send({ chat_guid: DM, text: 'the k2 text', file_id: fileId }, 'k2')).json()) as Command;
    const other = await send({ chat_guid: DM, text: 'the k2#1 text' }, 'k2#1');
    assert.equal(other.status, 202);
    assert.equal(other.headers.get('idempotent-replayed'), null);
    const c = (await other.json()) as Command & { status: string };
    assert.ok(c.id !== first.id && c.id !== first.followed_by?.id);
    const stored = (await (await env.api(`/v1/messages/${c.id}`)).json()) as { id: string; file: unknown };
    assert.equal(stored.file, null);
  });

  it('answers a 401 at once with Connection: close and does not read an endless body (closed after the linger time)', async () => {
    const sock = connect(env.apiPort, '127.0.0.1');
    let response = '';
    let sent = 0;
    let trickle: NodeJS.Timeout | undefined;
    const closed = new Promise<'closed'>((resolve) => sock.on('close', () => resolve('closed')));
    sock.on('error', () => undefined); // writes after the hub closed its end may fail: that is the point
    sock.on('data', (d: Buffer) => {
      response += d.toString('latin1');
      // Once the 401 is there, keep sending body bytes: a server that drains the body keeps the socket open.
      if (trickle === undefined && response.includes('\r\n\r\n')) {
        trickle = setInterval(() => { if (!sock.destroyed) { sock.write(Buffer.alloc(1024, 0x61)); sent += 1024; } }, 20);
      }
    });
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    const head = `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"text":"`;
    sock.write(head);
    sent += 9;
    try {
      const outcome = await Promise.race([closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 10_000).unref())]);
      assert.equal(outcome, 'closed', `the hub closed the connection (it was still open after reading ${sent} body bytes)`);
    } finally {
      clearInterval(trickle);
      sock.destroy();
    }
    assert.match(response, /^HTTP\/1\.1 401 /);
    assert.match(response, /\r\nconnection: close\r\n/i);
    assert.match(response, /"code":"UNAUTHORIZED"/);
    assert.ok(sent < 50_000_000);
  });

  it('/health without the token shows states and reasons only; with it, the detail', async () => {
    const hub = await hubFetch(`http://127.0.0.1:${env.apiPort}/health`);
    const text = await hub.text();
    assert.doesNotMatch(text, /alice/, 'no account name');
    const body = JSON.parse(text) as { status: string; components: Record<string, Record<string, unknown>> };
    assert.ok(Object.keys(body.components).includes('relays'));
    for (const [name, c] of Object.entries(body.components)) {
      assert.deepEqual(Object.keys(c).filter((k) => !['state', 'reason', 'code', 'failures'].includes(k)), [], `${name} shows only state, reason and code`);
    }
    const wrong = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/health`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).text();
    assert.doesNotMatch(wrong, /alice/);
    const full = (await (await hubFetch(`http://127.0.0.1:${env.apiPort}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { components: { relays: { connected: string[] } } };
    assert.deepEqual(full.components.relays.connected, ['alice']);

    // The Mac has no API token: its /health never shows the account (or any handle), only states and reasons.
    const mac = await fetch(`http://127.0.0.1:${env.healthPort}/health`);
    const macText = await mac.text();
    assert.doesNotMatch(macText, /alice|\+1555/);
    const macBody = JSON.parse(macText) as { components: Record<string, Record<string, unknown>> };
    assert.equal(macBody.components['link']?.['state'], 'ok');
    for (const [name, c] of Object.entries(macBody.components)) {
      assert.deepEqual(Object.keys(c).filter((k) => !['state', 'reason', 'code', 'failures'].includes(k)), [], `Mac ${name} shows only state, reason and code`);
    }
  });

  it('answers an internal failure with a bare 500 INTERNAL and its request id; the detail goes to the log', async () => {
    // A real failure with a file path in it: the upload folder is not a folder any more.
    const out = join(env.dir, 'hub', 'files', 'out');
    rmSync(out, { recursive: true, force: true });
    writeFileSync(out, 'not a folder');
    try {
      const res = await env.api('/v1/files?name=a.txt', { method: 'POST', body: 'bytes', headers: { 'content-type': 'text/plain' } });
      assert.equal(res.status, 500);
      const id = res.headers.get('x-request-id');
      const text = await res.text();
      assert.deepEqual(JSON.parse(text) as ErrorBody, { error: { code: 'INTERNAL', message: 'internal error', request_id: id } });
      assert.doesNotMatch(text, /ENOTDIR|files|\/tmp|imr-/);
      const line = await env.hub!.waitForLog(/internal error/);
      assert.equal(line['request_id'], id);
      assert.match(String(line['err']), /ENOTDIR/);
    } finally {
      rmSync(out, { force: true });
      mkdirSync(out, { mode: 0o700 });
    }

    // A real SQLite failure with the store's path in it: another connection holds hub.db's write lock
    // past the hub's busy timeout.
    const db = new Database(join(env.dir, 'hub', 'hub.db'));
    db.exec('BEGIN IMMEDIATE');
    let res: Response;
    try {
      res = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, text: 'blocked' }) });
    } finally {
      db.exec('ROLLBACK');
      db.close();
    }
    assert.equal(res.status, 500);
    const id = res.headers.get('x-request-id');
    const text = await res.text();
    assert.deepEqual(JSON.parse(text) as ErrorBody, { error: { code: 'INTERNAL', message: 'internal error', request_id: id } });
    assert.doesNotMatch(text, /hub\.db|SQLITE|locked|busy|\/tmp/i);
    // The answer can come before its log line is read from the hub's stdout: wait for that very line.
    await waitFor(() => env.hub!.lines.some((l) => l['request_id'] === id), `a log line with request id ${id}`, 15_000);
    const line = env.hub!.lines.find((l) => l['request_id'] === id)!;
    assert.equal(line['code'], 'STORE_WRITE_FAILED');
    assert.match(String(line['err']), /hub\.db.*locked/);

    // And the hub carries on.
    const ok = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, text: 'after the lock' }) });
    assert.equal(ok.status, 202);
  });
});
