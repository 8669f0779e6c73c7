// Webhooks in the Standard Webhooks format (`format: "standard"`), checked by the `standardwebhooks`
// npm package's Webhook.verify, a verifier nobody here wrote: real deliveries pass it; a changed
// body, another id, another secret, an old or a future timestamp do not; every attempt and a
// redelivery from the dead letters carry the same webhook-id. Also the config that asks for it, and
// the README's example run against real deliveries.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { systemClock } from '../../relay/clock.js';
import { parseHubConfig } from '../../relay/config/hub-config.js';
import { ConfigNode } from '../../relay/config/validate.js';
import { RelayError } from '../../relay/errors.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { DispatchEnv, testHook } from '../support/dispatch-env.js';
import { WebhookReceiver, type Received } from '../support/webhook-receiver.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const README = join(import.meta.dirname, '..', '..', 'README.md');

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Headers as the library takes them (string values). */
const plain = (h: Headers): Record<string, string> =>
  Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => typeof e[1] === 'string'));

/** Runs real deliveries of `guids` through a standard hook whose clock is `skewMs` off; returns what arrived. */
async function deliveries(guids: readonly string[], opts: { skewMs?: number } = {}): Promise<WebhookReceiver> {
  const receiver = new WebhookReceiver('unused: the relay-format check does not apply');
  const url = `http://127.0.0.1:${await receiver.start()}/hook`;
  const env = new DispatchEnv([testHook('std', url, SECRET, { format: 'standard' })], { ...systemClock, now: () => Date.now() + (opts.skewMs ?? 0) });
  try {
    env.ingest('+15555550123', guids, (g) => `héllo ${g} 👋 "quoted" \\ back`);
    await waitFor(() => receiver.received.length === guids.length, 'the deliveries');
    return receiver;
  } finally {
    env.close();
    await receiver.stop();
  }
}

/** What Webhook.verify says: the parsed payload, or the error it threw. */
function libraryVerify(secret: string, body: string, headers: Headers): unknown {
  try {
    return new Webhook(secret).verify(body, plain(headers));
  } catch (err) {
    return err;
  }
}

const refusedWith = (got: unknown, message: RegExp): boolean => got instanceof WebhookVerificationError && message.test(got.message);

describe('Standard Webhooks deliveries, checked by the standardwebhooks package', () => {
  it('every delivery passes Webhook.verify, which gives back the exact payload; no relay-format headers', async () => {
    const { received } = await deliveries(['A', 'B', 'C']);
    const seqs = new Set<string>();
    for (const r of received) {
      assert.deepEqual(libraryVerify(SECRET, r.raw.body, r.raw.headers), JSON.parse(r.raw.body), 'verified, payload returned');
      assert.equal(r.raw.headers['webhook-id'], `evt_${r.body.seq}`, 'the id names the event\'s hub sequence');
      assert.match(String(r.raw.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]{43}=$/);
      assert.ok(Math.abs(Number(r.raw.headers['webhook-timestamp']) - Date.now() / 1000) <= 5, 'the timestamp is the time of sending');
      assert.equal(r.raw.headers['x-relay-signature'], undefined);
      assert.equal(r.raw.headers['x-relay-timestamp'], undefined);
      seqs.add(String(r.raw.headers['webhook-id']));
    }
    assert.equal(seqs.size, 3, 'one id per event');
  });

  it('Webhook.verify refuses a changed body, another delivery\'s id or body, another secret, and an old or a future timestamp', async () => {
    const { received } = await deliveries(['T1', 'T2']);
    const [a, b] = received as [Received, Received];
    const noMatch = /No matching signature/;
    assert.ok(refusedWith(libraryVerify(SECRET, `${a.raw.body} `, a.raw.headers), noMatch), 'a space added to the body');
    assert.ok(refusedWith(libraryVerify(SECRET, a.raw.body.replace('T1', 'T3'), a.raw.headers), noMatch), 'a guid changed in the body');
    assert.ok(refusedWith(libraryVerify(SECRET, b.raw.body, a.raw.headers), noMatch), 'another delivery\'s body');
    assert.ok(refusedWith(libraryVerify(SECRET, a.raw.body, { ...a.raw.headers, 'webhook-id': b.raw.headers['webhook-id'] }), noMatch), 'another id');
    assert.ok(refusedWith(libraryVerify(`whsec_${randomBytes(32).toString('base64')}`, a.raw.body, a.raw.headers), noMatch), 'another secret');

    // Real deliveries signed by a hub whose clock is 6 minutes behind, or ahead: correctly signed, refused for their time.
    const old = (await deliveries(['OLD'], { skewMs: -6 * 60_000 })).received[0]!;
    assert.ok(refusedWith(libraryVerify(SECRET, old.raw.body, old.raw.headers), /timestamp too old/), 'six minutes old');
    const future = (await deliveries(['NEW'], { skewMs: 6 * 60_000 })).received[0]!;
    assert.ok(refusedWith(libraryVerify(SECRET, future.raw.body, future.raw.headers), /timestamp too new/), 'six minutes ahead');
    // Within the library's 5 minutes the same hub passes: the refusals above are about time alone.
    const recent = (await deliveries(['RECENT'], { skewMs: -4 * 60_000 })).received[0]!;
    assert.deepEqual(libraryVerify(SECRET, recent.raw.body, recent.raw.headers), JSON.parse(recent.raw.body), 'four minutes old passes');
  });

  it('every attempt, and a redelivery from the dead letters, carries the same webhook-id, each signed afresh', async () => {
    const receiver = new WebhookReceiver('unused');
    const env = new DispatchEnv([testHook('std', `http://127.0.0.1:${await receiver.start()}/hook`, SECRET, { format: 'standard' })]);
    try {
      // Both attempts fail (testHook: 2 attempts): a dead letter. Then the receiver is fixed and the delivery put back in line.
      receiver.failWith = 500;
      env.ingest('+15555550123', ['RETRY']);
      await waitFor(() => env.store.deliveries.dead().length === 1, 'the dead letter');
      receiver.failWith = null;
      assert.equal(env.store.deliveries.revive('std', env.store.deliveries.dead()[0]!.event_seq), true);
      for (const d of env.dispatchers) d.reload();
      await waitFor(() => receiver.received.length === 1, 'the redelivery');
    } finally {
      env.close();
      await receiver.stop();
    }
    assert.deepEqual(receiver.posts.map((p) => [p.attempt, p.ok]), [[1, false], [2, false], [1, true]], 'two failed attempts, a dead letter, then the redelivery');
    const ids = new Set(receiver.posts.map((p) => p.headers['webhook-id']));
    assert.equal(ids.size, 1, `one webhook-id for all three POSTs: ${[...ids].join(', ')}`);
    const r = receiver.received[0]!;
    assert.equal(r.raw.headers['webhook-id'], `evt_${r.body.seq}`);
    assert.deepEqual(libraryVerify(SECRET, r.raw.body, r.raw.headers), JSON.parse(r.raw.body), 'the redelivery verifies');
    for (const p of receiver.posts) assert.ok(!(libraryVerify(SECRET, r.raw.body, p.headers) instanceof Error), `attempt ${p.attempt} (${p.ok ? 'ok' : 'failed'}) was signed for the same id and body`);
  });
});

describe('the README\'s Standard Webhooks example', () => {
  it('accepts real deliveries and refuses a changed body, another secret and a stale delivery', async () => {
    const t = tempDir('imr-readme-std-');
    try {
      const text = readFileSync(README, 'utf8');
      const from = text.indexOf('Checking a Standard Webhooks signature (Node)');
      assert.ok(from >= 0, 'README has the example');
      const block = /```js\n([\s\S]*?)```/.exec(text.slice(from));
      assert.ok(block !== null && block[1]!.includes("from 'standardwebhooks'"), 'a js block that uses the standardwebhooks package');
      // Written outside the repository: point the import at the installed package.
      const lib = pathToFileURL(createRequire(import.meta.url).resolve('standardwebhooks')).href;
      const file = join(t.dir, 'readme-standard.mjs');
      writeFileSync(file, block[1]!.replace("from 'standardwebhooks'", `from ${JSON.stringify(lib)}`));
      const mod = (await import(pathToFileURL(file).href)) as { verifyStandardWebhook?: (secret: string, headers: Headers, rawBody: string) => unknown };
      assert.equal(typeof mod.verifyStandardWebhook, 'function', 'the example exports verifyStandardWebhook');
      const check = mod.verifyStandardWebhook!;

      const { received } = await deliveries(['R1', 'R2']);
      for (const r of received) assert.deepEqual(check(SECRET, r.raw.headers, r.raw.body), JSON.parse(r.raw.body), 'a real delivery: its event');
      assert.equal(check(SECRET, received[0]!.raw.headers, `${received[0]!.raw.body} `), null, 'body changed');
      assert.equal(check(`whsec_${randomBytes(24).toString('base64')}`, received[0]!.raw.headers, received[0]!.raw.body), null, 'another secret');
      assert.equal(check(SECRET, { ...received[0]!.raw.headers, 'webhook-signature': undefined }, received[0]!.raw.body), null, 'no signature header');
      const stale = (await deliveries(['OLD'], { skewMs: -6 * 60_000 })).received[0]!;
      assert.equal(check(SECRET, stale.raw.headers, stale.raw.body), null, 'six minutes old');
    } finally {
      t.cleanup();
    }
  });
});

describe('webhooks[].format in the hub config', () => {
  const t = tempDir('imr-std-config-');
  const file = join(t.dir, 'hub.json');
  const secretFile = (name: string, value: string): string => {
    const p = join(t.dir, name);
    writeFileSync(p, `${value}\n`, { mode: 0o600 });
    return p;
  };
  const token = secretFile('token', 'a-token-of-32-characters-0123456');
  const parse = (hook: Record<string, unknown>) => parseHubConfig(ConfigNode.root({
    api: { tokenFile: token }, relays: [{ account: 'alice', publicKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }],
    webhooks: [{ url: 'https://assistant.example/hook', ...hook }],
  }, file), file, {});
  const refused = (hook: Record<string, unknown>, key: string, message: RegExp): void => {
    assert.throws(() => parse(hook), (e: unknown) => e instanceof RelayError && e.code === 'CONFIG_INVALID' && (e.details as { key?: string }).key === key && message.test(e.message));
  };

  it('"standard" takes a whsec_ secret (from a file or the environment); without format a hook keeps the relay scheme', () => {
    assert.equal(parse({ format: 'standard', secretFile: secretFile('std', SECRET) }).webhooks[0]!.format, 'standard');
    assert.equal(parseHubConfig(ConfigNode.root({ api: { tokenFile: token }, relays: [{ account: 'a', publicKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }],
      webhooks: [{ url: 'http://127.0.0.1:1/h', format: 'standard', secretEnv: 'HOOK_SECRET' }] }, file), file, { HOOK_SECRET: SECRET }).webhooks[0]!.format, 'standard');
    const relay = parse({ secretFile: secretFile('plain', 'any-old-secret') }).webhooks[0]!;
    assert.equal(relay.format, 'relay');
    assert.equal(relay.secret, 'any-old-secret');
  });

  it('refuses an unknown format, and a standard hook whose secret is not whsec_ + base64 of 24 to 64 bytes, without showing it', () => {
    refused({ format: 'svix', secretFile: secretFile('s1', SECRET) }, 'webhooks[0].format', /"relay" or "standard"/);
    for (const [name, bad] of [['no-prefix', randomBytes(32).toString('base64')], ['short', `whsec_${randomBytes(16).toString('base64')}`],
      ['long', `whsec_${randomBytes(65).toString('base64')}`], ['not-base64', 'whsec_not*base64*at*all*0123456789012345'], ['plain', 'any-old-secret']] as const) {
      refused({ format: 'standard', secretFile: secretFile(name, bad) }, 'webhooks[0].secretFile', /whsec_/);
      assert.throws(() => parse({ format: 'standard', secretFile: join(t.dir, name) }), (e: unknown) => !(e as Error).message.includes(bad), `${name}: the secret is not in the message`);
    }
  });
});
