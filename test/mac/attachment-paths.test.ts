// The relay (which holds Full Disk Access) reads an incoming attachment only from where Messages keeps
// it: chat.db rows that point elsewhere (/etc, a ../ way out, a link, a linked folder, a FIFO) are
// refused with a code the hub answers (410), none of their bytes leave the Mac, a good file is still
// served, and the event's file name is a base name without bidi controls. And the Mac's staging of
// files from the hub never writes or hands Messages anything through a link planted in its folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttachmentStaging } from '../../relay/messages-app/staging.js';
import { FILE_CHUNK_BYTES } from '../../relay/model/files.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { RelayEnv, attachmentFromAlice, fetchAttachment } from '../support/relay-env.js';
import { hubFetch } from '../support/openapi-contract.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('incoming attachments are read only under attachments.roots', () => {
  const env = new RelayEnv();
  const secret = randomBytes(5000);
  const good = randomBytes(40_000);
  let att = '';
  let outside = '';
  before(async () => {
    await env.prepare({ macExtra: { attachments: { waitSeconds: 5 } } }); // roots: the default, chat.db's folder
    att = join(env.dir, 'Messages', 'Attachments'); // chat.db is <dir>/Messages/chat.db
    outside = join(env.dir, 'outside');
    mkdirSync(join(att, 'ab'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), secret);
    writeFileSync(join(att, 'ab', 'good.jpg'), good);
    symlinkSync(join(outside, 'secret.txt'), join(att, 'ab', 'link.jpg'));
    symlinkSync(outside, join(att, 'evil'));
    symlinkSync(join(att, 'ab', 'good.jpg'), join(att, 'ab', 'alias.jpg'));
    execFileSync('mkfifo', [join(att, 'ab', 'pipe.jpg')]);
    env.writer.chat({ guid: 'iMessage;-;+15555550123', identifier: '+15555550123', participants: ['+15555550123'] });
    await env.startLinked();
  });
  after(() => env.close());

  const code = async (guid: string): Promise<{ status: number; code: string | undefined; body: Buffer }> => {
    const res = await fetchAttachment(env, `/v1/attachments/${guid}`);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, code: res.status === 200 ? undefined : (JSON.parse(body.toString()) as { error: { code: string } }).error.code, body };
  };

  it('refuses /etc/hostname, a ../ way out, links to files and folders (even inside), a FIFO and a folder; serves the good file after them', async () => {
    const rows: Array<[string, string, string]> = [
      ['at_0_ETC', '/etc/hostname', 'ATTACHMENT_OUTSIDE_ROOT'],
      ['at_0_UP', `${att}/ab/../../../outside/secret.txt`, 'ATTACHMENT_OUTSIDE_ROOT'],
      ['at_0_LINK', join(att, 'ab', 'link.jpg'), 'ATTACHMENT_SYMLINK'],
      ['at_0_DIRLINK', join(att, 'evil', 'secret.txt'), 'ATTACHMENT_SYMLINK'],
      ['at_0_INLINK', join(att, 'ab', 'alias.jpg'), 'ATTACHMENT_SYMLINK'],
      ['at_0_FIFO', join(att, 'ab', 'pipe.jpg'), 'ATTACHMENT_NOT_REGULAR'],
      ['at_0_DIR', join(att, 'ab'), 'ATTACHMENT_NOT_REGULAR'],
    ];
    for (const [guid, filename] of rows) attachmentFromAlice(env, { guid, filename, name: 'x.jpg', bytes: 5000 });
    attachmentFromAlice(env, { guid: 'at_0_GOOD', filename: join(att, 'ab', 'good.jpg'), name: '../../secret/photo\u202E\u2066gpj.exe\u2069', mimeType: 'image/jpeg', bytes: good.length });
    const served = await code('at_0_GOOD');
    assert.equal(served.status, 200, 'the good file is served although a FIFO came before it');
    assert.equal(sha(served.body), sha(good));
    const got: Record<string, string | undefined> = {};
    for (const [guid] of rows) got[guid] = (await code(guid)).code;
    assert.deepEqual(got, Object.fromEntries(rows.map(([g, , c]) => [g, c])));
    // Nothing of the secret reached the hub's disk.
    const vault = join(env.dir, 'hub', 'files', 'in');
    for (const f of readdirSync(vault)) assert.notEqual(sha(readFileSync(join(vault, f))), sha(secret), `${f} holds the secret`);
    // The Mac says why, with the code, and keeps the paths out of its (info) log.
    const warned = env.mac!.lines.filter((l) => l.msg.startsWith('attachment not sent to the hub')).map((l) => l['code']);
    assert.deepEqual(warned.sort(), rows.map(([, , c]) => c).sort());
    assert.ok(!env.mac!.stdout.includes('secret.txt') && !env.mac!.stdout.includes('/etc/hostname'), 'no path in the log');
    const hubMetrics = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text();
    assert.match(hubMetrics, /attachments_total\{state="symlink"\} 3/);
  });

  it("the event names the file by its base name, bidi controls removed; the download's headers too", async () => {
    await waitFor(() => env.receiver.received.some((r) => (r.body.event['attachments'] as Array<{ guid: string }> | undefined)?.some((a) => a.guid === 'at_0_GOOD') === true), 'event of the good file');
    const ev = env.receiver.received.find((r) => (r.body.event['attachments'] as Array<{ guid: string }>).some((a) => a.guid === 'at_0_GOOD'))!.body.event;
    assert.equal((ev['attachments'] as Array<{ name: string }>)[0]!.name, 'photogpj.exe');
    const res = await fetchAttachment(env, '/v1/attachments/at_0_GOOD');
    await res.arrayBuffer();
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="photogpj.exe"; filename*=UTF-8''photogpj.exe`);
  });
});

describe("the Mac's staging never writes or hands over anything through a planted link", () => {
  const id = '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b';
  const bytes = randomBytes(FILE_CHUNK_BYTES + 777);
  const ref = { id, name: 'clip.mov', bytes: bytes.length, sha256: sha(bytes), mime_type: null, chunks: 2 };
  const writeAll = (s: AttachmentStaging): void => {
    s.writeChunk(id, 0, bytes.subarray(0, FILE_CHUNK_BYTES));
    s.writeChunk(id, 1, bytes.subarray(FILE_CHUNK_BYTES));
  };
  const victim = (dir: string, size = 100): { path: string; content: Buffer } => {
    mkdirSync(join(dir, 'victim'), { recursive: true });
    const path = join(dir, 'victim', 'important.txt');
    const content = randomBytes(size);
    writeFileSync(path, content);
    return { path, content };
  };

  it('a link planted at .incoming is replaced, not written through', () => {
    const t = tempDir();
    try {
      const v = victim(t.dir);
      mkdirSync(join(t.dir, 'stage', id), { recursive: true });
      symlinkSync(v.path, join(t.dir, 'stage', id, '.incoming'));
      const staging = new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES);
      writeAll(staging);
      assert.deepEqual(readFileSync(v.path), v.content, 'the file the link pointed to is untouched');
      const path = staging.prepare(id, ref);
      assert.equal(lstatSync(path).isFile(), true);
      assert.equal(sha(readFileSync(path)), sha(bytes));
    } finally {
      t.cleanup();
    }
  });

  it("a link planted as the command's folder is replaced, not written through", () => {
    const t = tempDir();
    try {
      const v = victim(t.dir);
      mkdirSync(join(t.dir, 'stage'));
      symlinkSync(join(t.dir, 'victim'), join(t.dir, 'stage', id));
      const staging = new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES);
      writeAll(staging);
      assert.deepEqual(readdirSync(join(t.dir, 'victim')), ['important.txt'], 'nothing written into the folder the link pointed to');
      const path = staging.prepare(id, ref);
      assert.equal(path, join(t.dir, 'stage', id, 'clip.mov'));
      assert.equal(lstatSync(join(t.dir, 'stage', id)).isDirectory(), true);
      assert.equal(sha(readFileSync(path)), sha(bytes));
    } finally {
      t.cleanup();
    }
  });

  it('a link planted at the final name is never handed to Messages, even one to a file of the right size', () => {
    const t = tempDir();
    try {
      const v = victim(t.dir, bytes.length);
      mkdirSync(join(t.dir, 'stage', id), { recursive: true });
      symlinkSync(v.path, join(t.dir, 'stage', id, 'clip.mov'));
      const staging = new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES);
      // No bytes arrived: the old check (exists, right size) would have sent the victim.
      assert.throws(() => staging.prepare(id, ref), { code: 'STAGING_INCOMPLETE' });
      assert.equal(existsSync(join(t.dir, 'stage', id, 'clip.mov')), false, 'the link is removed');
      symlinkSync(v.path, join(t.dir, 'stage', id, 'clip.mov'));
      writeAll(staging);
      const path = staging.prepare(id, ref);
      assert.equal(lstatSync(path).isFile(), true, 'the checked file replaced the link');
      assert.equal(sha(readFileSync(path)), sha(bytes));
      assert.deepEqual(readFileSync(v.path), v.content);
    } finally {
      t.cleanup();
    }
  });

  it('a staged file reused after a restart is hashed again: other bytes of the same size are refused and removed', () => {
    const t = tempDir();
    try {
      const staging = new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES);
      writeAll(staging);
      const path = staging.prepare(id, ref);
      assert.equal(new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES).prepare(id, ref), path, 'the same bytes are reused');
      const other = Buffer.from(bytes);
      other[1000] = other[1000]! ^ 0xff;
      writeFileSync(path, other);
      assert.throws(() => new AttachmentStaging(join(t.dir, 'stage'), 10 * FILE_CHUNK_BYTES).prepare(id, ref), { code: 'STAGING_CORRUPT' });
      assert.equal(existsSync(path), false, 'the wrong file is not left for Messages');
    } finally {
      t.cleanup();
    }
  });
});
