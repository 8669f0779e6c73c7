// Webhook signatures checked against references that are not our own code: node:crypto HMAC-SHA256
// over "<timestamp>.<body>" written here from the README's description, and the README's example
// itself, cut out of README.md and run against real deliveries, a stale one and malformed headers.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { verify } from '../../relay/hub/webhook-signature.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { DispatchEnv, testHook } from '../support/dispatch-env.js';
import { referenceVerify, WebhookReceiver, type Received } from '../support/webhook-receiver.js';

const SECRET = 'webhook-secret-0123456789';
const README = join(import.meta.dirname, '..', '..', 'README.md');

type Headers = Readonly<Record<string, string | string[] | undefined>>;
type ReadmeVerify = (secret: string, headers: Headers, rawBody: string, nowMs?: number) => boolean;

/** The js block under "Checking a signature (Node)" in README.md, loaded as a module. */
async function readmeVerifier(dir: string): Promise<ReadmeVerify> {
  const text = readFileSync(README, 'utf8');
  const from = text.indexOf('Checking a signature (Node)');
  assert.ok(from >= 0, 'README has the signature example');
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(from));
  assert.ok(block !== null, 'the example is a js code block');
  const file = join(dir, 'readme-verify.mjs');
  writeFileSync(file, block[1]!);
  const mod = (await import(pathToFileURL(file).href)) as { verifyRelaySignature?: ReadmeVerify };
  assert.equal(typeof mod.verifyRelaySignature, 'function', 'the example exports verifyRelaySignature');
  return mod.verifyRelaySignature!;
}

/** Real deliveries of `guids` from a dispatcher whose clock is `skewMs` off, as the receiver got them. */
async function deliveries(guids: readonly string[], skewMs = 0): Promise<Received[]> {
  const receiver = new WebhookReceiver(SECRET);
  const env = new DispatchEnv([testHook('main', `http://127.0.0.1:${await receiver.start()}/hook`, SECRET)],
    { ...systemClock, now: () => Date.now() + skewMs });
  try {
    env.ingest('+15555550123', guids, (g) => `héllo ${g} 👋 "quoted" \\ back`);
    await waitFor(() => receiver.received.length === guids.length, 'the deliveries');
    return receiver.received;
  } finally {
    env.close();
    await receiver.stop();
  }
}

const header = (r: Received, name: string): string => String(r.raw.headers[name]);

describe('webhook signatures against independent references', () => {
  it('every delivery carries v1=HMAC-SHA256(secret, "<timestamp>.<body>") with a current timestamp, as the README says', async () => {
    const got = await deliveries(['A', 'B', 'C']);
    for (const r of got) {
      const ts = header(r, 'x-relay-timestamp');
      assert.ok(Math.abs(Number(ts) - Date.now() / 1000) <= 5, 'the timestamp is the time of sending');
      const mac = createHmac('sha256', SECRET).update(`${ts}.${r.raw.body}`).digest('hex');
      assert.equal(header(r, 'x-relay-signature'), `v1=${mac}`);
      assert.ok(r.signatureOk && referenceVerify(SECRET, ts, r.raw.body, header(r, 'x-relay-signature'), Math.floor(Date.now() / 1000)));
    }
  });

  it("our verify() agrees with the reference: covers timestamp and body, refuses stale and future timestamps", async () => {
    const [r] = await deliveries(['V']);
    const ts = Number(header(r!, 'x-relay-timestamp'));
    const sig = header(r!, 'x-relay-signature');
    const body = r!.raw.body;
    const cases: Array<[string, number, string, string, number]> = [
      ['as delivered', ts, body, sig, ts],
      ['299 s later', ts, body, sig, ts + 299],
      ['301 s later (stale)', ts, body, sig, ts + 301],
      ['301 s earlier (future)', ts, body, sig, ts - 301],
      ['another timestamp, same signature', ts + 1, body, sig, ts + 1],
      ['another body', ts, `${body} `, sig, ts],
      ['signature over the body alone', ts, body, `v1=${createHmac('sha256', SECRET).update(body).digest('hex')}`, ts],
      ['odd-length signature', ts, body, sig.slice(0, -1), ts],
      ['no signature', ts, body, '', ts],
    ];
    for (const [what, t, b, s, now] of cases) {
      const expected = referenceVerify(SECRET, String(t), b, s, now);
      assert.equal(verify(SECRET, t, b, s, now), expected, `${what}: ours and the reference agree (${expected})`);
    }
    assert.deepEqual(cases.map(([, t, b, s, now]) => referenceVerify(SECRET, String(t), b, s, now)),
      [true, true, false, false, false, false, false, false, false], 'the reference itself accepts only fresh, exact signatures');
  });

  it("the README's example accepts real deliveries and refuses a stale one and malformed headers without throwing", async () => {
    const t = tempDir('imr-readme-');
    try {
      const readmeVerify = await readmeVerifier(t.dir);
      const fresh = await deliveries(['R1', 'R2', 'R3']);
      for (const r of fresh) assert.equal(readmeVerify(SECRET, r.raw.headers, r.raw.body), true, 'a real delivery passes');
      assert.equal(readmeVerify('another-secret-0123456789', fresh[0]!.raw.headers, fresh[0]!.raw.body), false, 'wrong secret');
      assert.equal(readmeVerify(SECRET, fresh[0]!.raw.headers, `${fresh[0]!.raw.body} `), false, 'body changed');
      assert.equal(readmeVerify(SECRET, fresh[0]!.raw.headers, fresh[1]!.raw.body), false, "another delivery's body");

      // A real delivery signed by a hub whose clock says 6 minutes ago: correctly signed, but stale.
      const [stale] = await deliveries(['OLD'], -6 * 60_000);
      const staleTs = Number(header(stale!, 'x-relay-timestamp'));
      assert.equal(stale!.signatureOk, false, 'the independent receiver refuses it too');
      assert.equal(readmeVerify(SECRET, stale!.raw.headers, stale!.raw.body), false, 'older than 5 minutes: refused');
      assert.equal(readmeVerify(SECRET, stale!.raw.headers, stale!.raw.body, (staleTs + 299) * 1000), true, 'the same delivery within 5 minutes of its time passes');
      assert.equal(readmeVerify(SECRET, stale!.raw.headers, stale!.raw.body, (staleTs + 301) * 1000), false, 'and 301 s after it does not');

      const h = fresh[0]!.raw.headers;
      const sig = String(h['x-relay-signature']);
      const malformed: Array<[string, Headers]> = [
        ['no signature header', { ...h, 'x-relay-signature': undefined }],
        ['empty signature', { ...h, 'x-relay-signature': '' }],
        ['odd-length signature', { ...h, 'x-relay-signature': sig.slice(0, -1) }],
        ['signature one byte short', { ...h, 'x-relay-signature': sig.slice(0, -2) }],
        ['signature with extra hex', { ...h, 'x-relay-signature': `${sig}00` }],
        ['signature with junk after it', { ...h, 'x-relay-signature': `${sig}zz` }],
        ['not hex', { ...h, 'x-relay-signature': `v1=${'z'.repeat(64)}` }],
        ['no v1= prefix', { ...h, 'x-relay-signature': sig.slice(3) }],
        ['signature header twice', { ...h, 'x-relay-signature': [sig, sig] }],
        ['no timestamp header', { ...h, 'x-relay-timestamp': undefined }],
        ['timestamp not a number', { ...h, 'x-relay-timestamp': 'soon' }],
        ['another timestamp', { ...h, 'x-relay-timestamp': String(Number(h['x-relay-timestamp']) - 1) }],
      ];
      for (const [what, headers] of malformed) {
        let ok: boolean | Error;
        try { ok = readmeVerify(SECRET, headers, fresh[0]!.raw.body); } catch (err) { ok = err as Error; }
        assert.equal(ok, false, `${what}: false, not ${ok instanceof Error ? `a thrown ${ok.name}` : String(ok)}`);
      }
    } finally {
      t.cleanup();
    }
  });
});
