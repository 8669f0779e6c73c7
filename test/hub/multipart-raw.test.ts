// POST /v1/messages as multipart/form-data written byte by byte on a socket (node:net) to a real
// in-process hub: malformed bodies are each a 400 BAD_MULTIPART (or 413 for a file over the limit)
// with nothing left in the file store, a body dripped one byte per write is read whole, and a
// client gone mid-file leaves no partial upload behind while the hub keeps answering.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import { silentLogger } from '../../relay/logger.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';

const TOKEN = 'multipart-raw-token-0123456789';
const B = 'rawB0undary7MA4YWxk';
const DM = 'iMessage;-;+15555550123';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const field = (name: string, value: string): string => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = (filename: string): string => `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`;
/** A whole form: chat, text, and a file whose bytes hold almost-boundaries. */
const form = (file: Buffer): Buffer => Buffer.concat([Buffer.from(field('chat_guid', DM) + field('text', 'hi') + fileHead('p.png')), file, Buffer.from(`\r\n--${B}--\r\n`)]);

function head(length: number | 'chunked', type = `multipart/form-data; boundary=${B}`): string {
  const size = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${type}\r\n${size}\r\nConnection: close\r\n\r\n`;
}

interface Answer { status: number; code: string | null; body: string }

/** Writes `pieces` in order (each awaited), then waits for the hub to answer and close. */
async function exchange(port: number, pieces: ReadonlyArray<string | Buffer>, opts: { noDelay?: boolean } = {}): Promise<Answer> {
  const sock = connect(port, '127.0.0.1');
  if (opts.noDelay === true) sock.setNoDelay(true);
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.on('error', () => undefined); // the hub may close while we still write: its answer is what counts
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  for (const p of pieces) {
    if (sock.destroyed) break;
    await new Promise<void>((resolve) => sock.write(p, () => resolve()));
  }
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  assert.ok(status !== null, `an HTTP answer, got ${JSON.stringify(text.slice(0, 80))}`);
  const headEnd = text.indexOf('\r\n\r\n');
  let body = text.slice(headEnd + 4);
  if (/\r\ntransfer-encoding: chunked\r\n/i.test(text.slice(0, headEnd + 2))) {
    let out = '';
    for (let at = 0; ;) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.slice(at, eol), 16);
      if (!(size > 0)) break;
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    body = out;
  }
  return { status: Number(status[1]), code: /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? null, body };
}

const oneByOne = (b: Buffer): Buffer[] => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));
const chunked = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]);

describe('multipart bodies on a raw socket', () => {
  const tmp = tempDir('imr-multipart-raw-');
  let hub: Hub;
  let port = 0;
  const outDir = join(tmp.dir, 'files', 'out');
  const stored = (): string[] => readdirSync(outDir).sort();

  before(async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = new Hub({ clock: systemClock, logger: silentLogger(), config: inProcessHubConfig(tmp.dir, { token: TOKEN, relays: [['alice', relay]], logLevel: 'silent' }) });
    port = (await hub.start()).apiPort;
  });
  after(async () => { await hub.stop(); tmp.cleanup(); });

  it('refuses each malformed body with 400 BAD_MULTIPART, and keeps no file from it', async () => {
    const file = Buffer.concat([randomBytes(5000), Buffer.from(`\r\n--${B.slice(0, -1)}\r\n--`), randomBytes(5000)]);
    const whole = form(file);
    const cases: Array<[string, Buffer]> = [
      ['ends inside the file', whole.subarray(0, whole.length - 200)],
      ['ends before the closing boundary', whole.subarray(0, whole.length - `--${B}--\r\n`.length)],
      ['ends in part headers', Buffer.from(`${field('chat_guid', DM)}--${B}\r\nContent-Disposition: form-da`)],
      ['a header line without a colon', Buffer.from(`--${B}\r\nContent-Disposition form-data; name="text"\r\n\r\nhi\r\n--${B}--\r\n`)],
      ['part headers longer than 16 KiB', Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="text"\r\nX-Pad: ${'p'.repeat(17_000)}\r\n\r\nhi\r\n--${B}--\r\n`)],
      ['a part without a name', Buffer.from(`--${B}\r\nContent-Disposition: form-data; filename="x.png"\r\n\r\nzz\r\n--${B}--\r\n`)],
      ['no part a form can have', Buffer.from(`--${B}\r\nX-Nothing: 1\r\n\r\nzz\r\n--${B}--\r\n`)],
      ['no boundary at all', Buffer.from('just some bytes, no boundary anywhere')],
      ['another boundary', Buffer.from(`--other\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--other--\r\n`)],
    ];
    for (const [what, body] of cases) {
      for (const [how, pieces] of [['Content-Length', [head(body.length), body]], ['chunked', [head('chunked'), chunked(body)]]] as const) {
        const a = await exchange(port, pieces);
        assert.deepEqual([a.status, a.code], [400, 'BAD_MULTIPART'], `${what} (${how}): ${a.body}`);
      }
    }
    const noBoundary = await exchange(port, [head(4, 'multipart/form-data'), 'abcd']);
    assert.deepEqual([noBoundary.status, noBoundary.code], [400, 'BAD_MULTIPART'], 'a Content-Type without a boundary');
    assert.deepEqual(stored(), [], 'no upload and no partial file kept');
  });

  it('a file over api.maxFileBytes is 413 FILE_TOO_LARGE before the client has sent it all; nothing kept', async () => {
    const big = Buffer.concat([Buffer.from(field('chat_guid', DM) + fileHead('big.png')), Buffer.alloc(3 * 1024 * 1024, 7), Buffer.from(`\r\n--${B}--\r\n`)]);
    const pieces = [head(big.length), ...Array.from({ length: Math.ceil(big.length / 65536) }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536))];
    const a = await exchange(port, pieces);
    assert.deepEqual([a.status, a.code], [413, 'FILE_TOO_LARGE'], a.body);
    assert.deepEqual(stored(), []);
  });

  it('reads a body dripped one byte per write whole: the fields, and the file byte for byte', async () => {
    const file = Buffer.concat([randomBytes(700), Buffer.from(`\r\n--${B.slice(0, -1)}X\r\n--${B.slice(0, 5)}`), randomBytes(700)]);
    const body = form(file);
    const a = await exchange(port, [head(body.length), ...oneByOne(body)], { noDelay: true });
    assert.equal(a.status, 202, a.body);
    const cmd = JSON.parse(a.body) as { chat_guid: string; file: { id: string; name: string; bytes: number; sha256: string; mime_type: string }; followed_by: { id: string } };
    assert.equal(cmd.chat_guid, DM);
    assert.deepEqual({ ...cmd.file, id: undefined }, { id: undefined, name: 'p.png', bytes: file.length, sha256: sha(file), mime_type: 'image/png' });
    assert.ok(cmd.followed_by !== undefined, 'the text follows the file');
    assert.deepEqual(stored(), [cmd.file.id]);
    assert.equal(sha(readFileSync(join(outDir, cmd.file.id))), sha(file), 'the stored bytes are the file\'s');
  });

  it('a client gone in the middle of a file leaves no partial upload, and the hub answers the next request', async () => {
    const before = stored();
    const body = form(randomBytes(400_000));
    const sock: Socket = connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    await new Promise<void>((resolve) => sock.write(head(body.length), () => resolve()));
    await new Promise<void>((resolve) => sock.write(body.subarray(0, 200_000), () => resolve()));
    await waitFor(() => stored().some((n) => n.endsWith('.tmp')), 'the upload being written');
    sock.destroy();
    await waitFor(() => !stored().some((n) => n.endsWith('.tmp')), 'the partial upload removed', 10_000);
    assert.deepEqual(stored(), before, 'nothing kept');
    const next = await exchange(port, [head(Buffer.byteLength(field('chat_guid', DM) + field('text', 'still here') + `--${B}--\r\n`)), field('chat_guid', DM) + field('text', 'still here') + `--${B}--\r\n`]);
    assert.equal(next.status, 202, next.body);
  });
});
