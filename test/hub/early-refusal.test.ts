// A request refused while its body is still arriving (too large, not authorised), written byte by byte
// on a socket (node:net) to a real in-process hub: the client gets the whole answer at once, and the
// hub keeps reading (and dropping) what it still sends for the linger time, then closes, and keeps
// answering. Closing at once made fetch() on a loaded CI machine see EPIPE instead of the 413.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import { LINGER_MS } from '../../relay/hub/http-io.js';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import { silentLogger } from '../../relay/logger.js';
import { sleep, tempDir } from '../support/chatdb-env.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';

const TOKEN = 'early-refusal-token-0123456789';
const B = 'earlyB0undary';
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

interface Outcome {
  readonly status: number;
  readonly code: string | null;
  readonly headers: string;
  /** The first error a write or the socket met (EPIPE, ECONNRESET), or null. */
  readonly writeError: string | null;
  /** Milliseconds from the answer's arrival to the hub's close (its FIN), the client still writing until then. */
  readonly closedAfterMs: number;
}

/**
 * Sends `head`, then body bytes without end: `prefix`, then 64 KiB chunks (chunked-encoded when
 * `chunked`) until the hub closes the connection. Every write is awaited, so a reset shows.
 */
async function keepSending(port: number, head: string, opts: { prefix?: string; chunked?: boolean } = {}): Promise<Outcome> {
  const sock = connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  let writeError: string | null = null;
  let answeredAt = 0;
  let closedAt = 0;
  sock.on('data', (d: Buffer) => {
    got.push(d);
    if (answeredAt === 0 && Buffer.concat(got).includes('"request_id"')) answeredAt = Date.now();
  });
  let finAt = 0; // once the hub has closed its side, a write meeting a reset is expected
  sock.on('end', () => { finAt = Date.now(); });
  sock.on('error', (e: NodeJS.ErrnoException) => { if (finAt === 0) writeError ??= e.code ?? e.message; });
  const closed = new Promise<void>((resolve) => sock.on('close', () => { closedAt = Date.now(); resolve(); }));
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  const write = (b: string | Buffer): Promise<void> => new Promise((resolve) => sock.write(b, (err) => {
    if (err && finAt === 0) writeError ??= (err as NodeJS.ErrnoException).code ?? err.message;
    resolve();
  }));
  await write(head);
  if (opts.prefix !== undefined) await write(opts.prefix);
  const piece = opts.chunked === true ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]) : CHUNK;
  const give = Date.now() + 15_000;
  while (closedAt === 0 && finAt === 0 && writeError === null && Date.now() < give) {
    await write(piece);
    await sleep(5); // a steady client, not a flood: the hub reads and drops what it sends
  }
  if (closedAt === 0) sock.destroy();
  await closed;
  const text = Buffer.concat(got).toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0),
    code: /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? null,
    headers: text.slice(0, Math.max(0, headEnd)),
    writeError,
    closedAfterMs: answeredAt === 0 ? -1 : (finAt || closedAt) - answeredAt,
  };
}

describe('a request refused while its body is still arriving', () => {
  const tmp = tempDir('imr-early-');
  let hub: Hub;
  let port = 0;

  before(async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = new Hub({ clock: systemClock, logger: silentLogger(), config: inProcessHubConfig(tmp.dir, { token: TOKEN, relays: [['alice', relay]], logLevel: 'silent' }) });
    port = (await hub.start()).apiPort;
  });
  after(async () => { await hub.stop(); tmp.cleanup(); });

  const auth = `Authorization: Bearer ${TOKEN}\r\n`;
  const cases: Array<[string, string, { prefix?: string; chunked?: boolean }, number, string]> = [
    ['an upload whose Content-Length is over the limit (refused before reading)',
      `POST /v1/files?name=big.bin HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 50000000\r\n\r\n`, {}, 413, 'FILE_TOO_LARGE'],
    ['a chunked upload that grows over the limit (refused while reading)',
      `POST /v1/files?name=big.bin HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n`, { chunked: true }, 413, 'FILE_TOO_LARGE'],
    ['a JSON body over 1 MiB',
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n`, { prefix: '{"text":"' }, 413, 'BODY_TOO_LARGE'],
    ['a multipart file part over the limit',
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: multipart/form-data; boundary=${B}\r\nContent-Length: 50000000\r\n\r\n`,
      { prefix: `--${B}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n` }, 413, 'FILE_TOO_LARGE'],
    ['no token (a 401 before anything is read)',
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n`, {}, 401, 'UNAUTHORIZED'],
  ];

  for (const [name, head, opts, status, code] of cases) {
    it(`${name}: the whole answer at once, what follows read for the linger time, then closed`, async () => {
      const out = await keepSending(port, head, opts);
      assert.equal(out.status, status, `answer: ${out.headers}`);
      assert.equal(out.code, code);
      assert.match(out.headers, /\r\nconnection: close\r\n/i);
      assert.equal(out.writeError, null, 'the client kept writing after the answer and the hub never reset it');
      // Not at once: a client busy writing its body has the linger time to finish and read the answer.
      assert.ok(out.closedAfterMs >= LINGER_MS - 50, `kept open ${out.closedAfterMs} ms after the answer (linger ${LINGER_MS} ms)`);
      assert.ok(out.closedAfterMs <= LINGER_MS + 3000, `closed ${out.closedAfterMs} ms after the answer (linger ${LINGER_MS} ms)`);
      assert.deepEqual(readdirSync(join(tmp.dir, 'files', 'out')), [], 'nothing kept from the refused body');
      const next = await fetch(`http://127.0.0.1:${port}/v1/openapi.json`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(next.status, 200, 'the hub still answers');
    });
  }

  it('a client that stops sending after the answer has its connection closed at the end of the linger time', async () => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    sock.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(Date.now())));
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write(`POST /v1/files?name=big.bin HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 50000000\r\n\r\nabc`);
    const started = Date.now();
    const at = await Promise.race([closed, sleep(LINGER_MS + 5000).then(() => 0)]);
    sock.destroy();
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.ok(at > 0, 'the hub closed the idle connection');
    assert.ok(at - started >= LINGER_MS - 100, `not before the linger time (${at - started} ms)`);
  });
});
