// The pieces files pass through, each on its own: the multipart reader (whatever way the body is cut
// into reads), file names made safe, the Mac's staging (chunks in any order, checked, refused when
// wrong) and the hub's receiver (a tampered or missing chunk never gives a file that is served).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileReceiver } from '../../relay/hub/file-receiver.js';
import { FileVault } from '../../relay/hub/file-vault.js';
import { HttpError } from '../../relay/hub/http-io.js';
import { fieldText, readMultipart } from '../../relay/hub/multipart.js';
import { silentLogger } from '../../relay/logger.js';
import { AttachmentStaging } from '../../relay/messages-app/staging.js';
import { FILE_CHUNK_BYTES, safeFileName } from '../../relay/model/files.js';
import type { OutboxItem } from '../../relay/model/wire.js';
import { tempDir } from '../support/chatdb-env.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function* pieces(body: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield body.subarray(at, at + n);
    at += n;
  }
}

async function parse(body: Buffer, boundary: string, sizes: readonly number[]): Promise<Array<{ name: string; filename: string | null; type: string | null; data: Buffer }>> {
  const out = [];
  for await (const p of readMultipart(pieces(body, sizes), boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of p.body) chunks.push(c);
    out.push({ name: p.name, filename: p.filename, type: p.contentType, data: Buffer.concat(chunks) });
  }
  return out;
}

describe('multipart reader', () => {
  const boundary = '----imr7MA4YWxkTrZu0gW';
  // File bytes that contain almost-boundaries: a reader that cuts at the wrong place corrupts them.
  const file = Buffer.concat([randomBytes(3000), Buffer.from(`\r\n--${boundary.slice(0, -1)}X\r\n--`), randomBytes(3000)]);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="chat_guid"\r\n\r\niMessage;-;+15555550123\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nline one\r\nline two é\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a \\"quoted\\" name.png"\r\nContent-Type: image/png\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

  it('gives the same fields and file bytes however the body is cut into reads', async () => {
    for (const sizes of [[body.length], [1], [2, 3], [7], [64], [1000, 1], [boundary.length + 3]]) {
      const parts = await parse(body, boundary, sizes);
      assert.deepEqual(parts.map((p) => p.name), ['chat_guid', 'text', 'file'], `cut into ${sizes.join('/')}`);
      assert.equal(parts[0]!.data.toString(), 'iMessage;-;+15555550123');
      assert.equal(parts[1]!.data.toString(), 'line one\r\nline two é');
      assert.equal(parts[2]!.filename, 'a "quoted" name.png');
      assert.equal(parts[2]!.type, 'image/png');
      assert.equal(sha(parts[2]!.data), sha(file), `file bytes intact when cut into ${sizes.join('/')}`);
    }
  });

  it('refuses bodies that end early or have no boundary, with BAD_MULTIPART', async () => {
    for (const bad of [body.subarray(0, body.length - 30), Buffer.from('no boundary at all'), Buffer.from(`--${boundary}\r\nX-Nothing: 1\r\n\r\nzz\r\n--${boundary}--`)]) {
      await assert.rejects(parse(bad, boundary, [100]), (e: unknown) => e instanceof HttpError && e.code === 'BAD_MULTIPART' && e.status === 400);
    }
  });

  it('bounds a field', async () => {
    const long = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${'x'.repeat(5000)}\r\n--${boundary}--`);
    const it = readMultipart(pieces(long, [512]), boundary);
    const first = await it.next();
    assert.ok(first.done !== true);
    await assert.rejects(fieldText(first.value, 1000), (e: unknown) => e instanceof HttpError && e.status === 413);
  });
});

describe('file names', () => {
  it('keep what the recipient should see and nothing that escapes a folder', () => {
    assert.equal(safeFileName('photo.jpeg'), 'photo.jpeg');
    assert.equal(safeFileName('../../etc/passwd'), 'passwd');
    assert.equal(safeFileName('C:\\Users\\me\\report.pdf'), 'report.pdf');
    assert.equal(safeFileName('.hidden'), 'hidden');
    assert.equal(safeFileName('a\u0000b\nc:d.txt'), 'a_b_c_d.txt');
    assert.equal(safeFileName('..'), 'file');
    assert.equal(safeFileName('invoice\u202Efdp.exe'), 'invoicefdp.exe', 'no right-to-left override (U+202A–202E)');
    assert.equal(safeFileName('\u2066a\u2067b\u2068c\u2069.txt'), 'abc.txt', 'no isolates (U+2066–2069)');
    assert.equal(safeFileName('\u202E/../\u202Dx.png'), 'x.png', 'controls cannot hide a path either');
    const long = safeFileName(`${'é'.repeat(300)}.heic`);
    assert.ok(Buffer.byteLength(long) <= 200 && long.endsWith('.heic'), 'shortened on UTF-8 bytes, extension kept');
  });
});

describe('staging on the Mac', () => {
  const id = '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b';

  it('assembles chunks that arrive out of order and again, checks them, and cleans up', () => {
    const t = tempDir();
    try {
      const staging = new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES);
      const bytes = randomBytes(FILE_CHUNK_BYTES * 2 + 1234);
      const chunk = (i: number): Buffer => bytes.subarray(i * FILE_CHUNK_BYTES, (i + 1) * FILE_CHUNK_BYTES);
      for (const i of [2, 0, 1, 0]) staging.writeChunk(id, i, chunk(i));
      const ref = { id, name: 'clip.mov', bytes: bytes.length, sha256: sha(bytes), mime_type: null, chunks: 3 };
      const path = staging.prepare(id, ref);
      assert.equal(path, join(t.dir, 'stage', id, 'clip.mov'));
      assert.equal(sha(readFileSync(path)), sha(bytes));
      assert.equal(staging.prepare(id, ref), path, 'idempotent after a restart');
      staging.remove(id);
      assert.equal(existsSync(join(t.dir, 'stage', id)), false);
    } finally {
      t.cleanup();
    }
  });

  it('refuses a file with bytes missing or changed, a chunk over the limit, and an id that is not a UUID', () => {
    const t = tempDir();
    try {
      const staging = new AttachmentStaging(join(t.dir, 'stage'), FILE_CHUNK_BYTES + 10);
      const bytes = randomBytes(FILE_CHUNK_BYTES + 10);
      staging.writeChunk(id, 0, bytes.subarray(0, FILE_CHUNK_BYTES));
      const ref = { id, name: 'a.bin', bytes: bytes.length, sha256: sha(bytes), mime_type: null, chunks: 2 };
      assert.throws(() => staging.prepare(id, ref), { code: 'STAGING_INCOMPLETE' });
      const tampered = Buffer.from(bytes.subarray(FILE_CHUNK_BYTES));
      tampered[5] = tampered[5]! ^ 1;
      staging.writeChunk(id, 1, tampered);
      assert.throws(() => staging.prepare(id, ref), { code: 'STAGING_CORRUPT' });
      assert.throws(() => staging.writeChunk(id, 2, Buffer.alloc(1)), { code: 'STAGING_TOO_LARGE' });
      assert.throws(() => staging.writeChunk('../../x', 0, Buffer.alloc(1)), { code: 'STAGING_BAD_ID' });
      mkdirSync(join(t.dir, 'stage', '0a1b2c3d-0000-4000-8000-000000000000'));
      assert.equal(staging.sweep(new Set([id]), 3600_000, Date.now()), 0, 'a young folder may still get its send command');
      assert.equal(staging.sweep(new Set([id]), 3600_000, Date.now() + 2 * 3600_000), 1, 'folders of finished commands are swept');
      assert.deepEqual(readdirSync(join(t.dir, 'stage')), [id]);
    } finally {
      t.cleanup();
    }
  });
});

describe('the hub receiving an attachment', () => {
  const items = (bytes: Buffer, tamper: (i: number, data: Buffer) => Buffer | null = (_i, d) => d): OutboxItem[] => {
    const out: OutboxItem[] = [];
    const n = Math.ceil(bytes.length / FILE_CHUNK_BYTES);
    for (let i = 0; i < n; i++) {
      const data = tamper(i, bytes.subarray(i * FILE_CHUNK_BYTES, (i + 1) * FILE_CHUNK_BYTES));
      if (data !== null) out.push({ seq: i + 1, type: 'chunk', id: `chunk:G:${i}`, body: { guid: 'G', index: i, data: data.toString('base64') } });
    }
    out.push({ seq: n + 1, type: 'file', id: 'file:G', body: { guid: 'G', name: 'g.bin', bytes: bytes.length, sha256: sha(bytes), status: 'complete' } });
    return out;
  };

  it('serves a file only when every byte checks out', () => {
    const t = tempDir();
    try {
      const vault = new FileVault(join(t.dir, 'files'));
      const rx = new FileReceiver(vault, 10 * FILE_CHUNK_BYTES, silentLogger());
      const bytes = randomBytes(FILE_CHUNK_BYTES * 2 + 99);
      assert.deepEqual(rx.receive('alice', items(bytes), 0).get('G'), { state: 'ready', error: null });
      assert.equal(sha(readFileSync(vault.incomingPath('alice', 'G'))), sha(bytes));
      assert.deepEqual(rx.receive('alice', items(bytes), 0).get('G'), { state: 'ready', error: null }, 'a resend changes nothing');

      const flipped = rx.receive('bob', items(bytes, (i, d) => (i === 1 ? Buffer.concat([d.subarray(0, 10), Buffer.from([d[10]! ^ 0xff]), d.subarray(11)]) : d)), 0).get('G');
      assert.equal(flipped?.state, 'corrupt');
      assert.equal(existsSync(vault.incomingPath('bob', 'G')), false, 'nothing served');
      const lost = rx.receive('carol', items(bytes, (i, d) => (i === 0 ? null : d)), 0).get('G');
      assert.equal(lost?.state, 'corrupt');
      const junk = rx.receive('dave', [{ seq: 1, type: 'chunk', id: 'c', body: { guid: 'G', index: 0, data: '%%%not base64' } }, ...items(bytes).slice(1)], 0).get('G');
      assert.equal(junk?.state, 'corrupt', 'a malformed chunk is refused, never trusted');
      // A chunk rewritten with other bytes after the file's hash was running: the file on disk is what is checked.
      const all = items(bytes);
      const other = Buffer.from(bytes.subarray(FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES));
      other[0] = other[0]! ^ 1;
      const rewritten = rx.receive('frank', [all[0]!, all[1]!, { ...all[1]!, seq: 10, body: { guid: 'G', index: 1, data: other.toString('base64') } }, all[2]!, { ...all[3]!, seq: 11 }], 0).get('G');
      assert.equal(rewritten?.state, 'corrupt');
      const tooBig = new FileReceiver(vault, FILE_CHUNK_BYTES, silentLogger()).receive('erin', items(bytes), 0).get('G');
      assert.equal(tooBig?.state, 'too_large');
    } finally {
      t.cleanup();
    }
  });
});
