// GET /v1/attachments/{guid} builds its headers from what a relay said about the file (name, type):
// a relay that lies (CR/LF, quotes, paths, bidi controls, junk types) gets no header of its own into
// the response. The response is read as raw bytes off a socket, so the headers are seen as sent.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import type { LinkMessage } from '../../relay/link/codec.js';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import { silentLogger } from '../../relay/logger.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { rawLink, type RawLink } from '../support/raw-link.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';

const TOKEN = 'headers-test-token-0123456789';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** GET over a plain socket: the status line, the header lines exactly as sent, and the body. */
function rawGet(port: number, path: string): Promise<{ status: string; headers: Array<[string, string]>; raw: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', reject);
    s.on('end', () => {
      const all = Buffer.concat(got);
      const end = all.indexOf('\r\n\r\n');
      const raw = all.subarray(0, end).toString('latin1');
      const [status, ...lines] = raw.split('\r\n');
      const headers = lines.map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
      resolve({ status: status!, headers, raw, body: all.subarray(end + 4) });
    });
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
  });
}

describe('download headers from relay-supplied metadata', () => {
  const tmp = tempDir();
  let hub: Hub;
  let link: RawLink;
  let apiPort = 0;
  let seq = 0;

  /** The relay announces an attachment (event), sends its bytes (chunk) and ends it (file), with `name` and `mime`. */
  const attachment = async (guid: string, name: string, mime: string, bytes: Buffer): Promise<void> => {
    const event = { kind: 'message', guid: `msg-${guid}`, rowid: 1, date: null, service: 'iMessage', sender: '+1555', chat: null, backlog: false, text: '\uFFFC',
      attachments: [{ guid, name, mime_type: mime, uti: null, bytes: bytes.length, path: null, missing: false }], reply_to: null, mentions: [], decode_error: null };
    const items: LinkMessage = { t: 'items', items: [
      { seq: ++seq, type: 'event', id: `message:msg-${guid}`, body: event },
      { seq: ++seq, type: 'chunk', id: `chunk:${guid}:0`, body: { guid, index: 0, data: bytes.toString('base64') } },
      { seq: ++seq, type: 'file', id: `file:${guid}`, body: { guid, name, mime_type: mime, bytes: bytes.length, sha256: sha(bytes), chunks: 1, status: 'complete', error: null } },
    ] };
    link.send(link.seal(items));
    const want = seq;
    await waitFor(() => link.received.some((m) => m.t === 'ack' && m.seq === want), `ack ${want}`);
  };

  before(async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = new Hub({
      clock: systemClock, logger: silentLogger(),
      config: inProcessHubConfig(tmp.dir, { token: TOKEN, relays: [['mallory', relay]], logLevel: 'silent' }),
    });
    const ports = await hub.start();
    apiPort = ports.apiPort;
    link = await rawLink(`ws://127.0.0.1:${ports.linkPort}`, relay);
    link.send(link.seal({ t: 'hello', v: 1, agent: 'mallory', store: 'm', cmd_acked: 0 }));
    await waitFor(() => link.received.some((m) => m.t === 'welcome'), 'welcome');
  });
  after(async () => { link.ws.close(); await hub.stop(); tmp.cleanup(); });

  it('CR/LF in the type and the name: no injected header, application/octet-stream, nosniff, a made-safe name', async () => {
    const bytes = randomBytes(3000);
    await attachment('G_CRLF', 'a"\r\nX-Evil: 1.txt', 'text/html\r\nX-Evil: 2', bytes);
    const res = await rawGet(apiPort, '/v1/attachments/G_CRLF');
    assert.equal(res.status, 'HTTP/1.1 200 OK', res.raw);
    assert.deepEqual(res.headers.filter(([k]) => k === 'x-evil'), [], 'no header of the relay\'s making');
    const h = new Map(res.headers);
    assert.equal(h.get('content-type'), 'application/octet-stream');
    assert.equal(h.get('x-content-type-options'), 'nosniff');
    assert.equal(h.get('content-disposition'), `attachment; filename="a___X-Evil_ 1.txt"; filename*=UTF-8''a%22__X-Evil_%201.txt`);
    assert.equal(sha(res.body), sha(bytes));
  });

  it('a path and bidi controls in the name: the base name only, controls removed; the exact name in filename*', async () => {
    await attachment('G_PATH', '../../etc/r\u00e9sum\u00e9 \u202Egnp.exe', 'IMAGE/PNG', randomBytes(10));
    const h = new Map((await rawGet(apiPort, '/v1/attachments/G_PATH')).headers);
    assert.equal(h.get('content-type'), 'image/png');
    assert.equal(h.get('x-content-type-options'), 'nosniff');
    assert.equal(h.get('content-disposition'), `attachment; filename="r_sum_ gnp.exe"; filename*=UTF-8''r%C3%A9sum%C3%A9%20gnp.exe`);
  });

  it("a junk type becomes application/octet-stream; RFC 5987 escapes ' ( ) * in filename*", async () => {
    await attachment('G_JUNK', "it's (1)*.png", 'junk', randomBytes(10));
    const h = new Map((await rawGet(apiPort, '/v1/attachments/G_JUNK')).headers);
    assert.equal(h.get('content-type'), 'application/octet-stream');
    assert.equal(h.get('content-disposition'), `attachment; filename="it's (1)*.png"; filename*=UTF-8''it%27s%20%281%29%2A.png`);
  });
});
