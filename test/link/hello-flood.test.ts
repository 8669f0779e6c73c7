// An impostor who knows a relay's public key (no secret) and sends hellos with it: the hub answers,
// but the impostor cannot open a sealed frame, so no session is registered or replaced and nothing
// counts as connected; a flood is rate-limited per address and per key; the real relay stays up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, type KeyPair } from '../../relay/link/keys.js';
import { waitFor } from '../support/chatdb-env.js';
import { pinRelay, relayKeys } from '../support/hub-edits.js';
import { ALICE, DM, RelayEnv, TOKEN } from '../support/relay-env.js';
import { RawWs, rawHandshake } from '../support/raw-ws-frames.js';
import { hubFetch } from '../support/openapi-contract.js';

type Outcome = 'answered' | 'limited' | 'other';

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('hellos with a known relay key from an impostor', () => {
  const env = new RelayEnv();
  /** Alice's public key with a secret that is not hers: what anyone who read the config holds. */
  let impostor: KeyPair;
  /** A relay pinned in the hub's config that never connects. */
  let bob: KeyPair;

  const metric = async (line: string): Promise<number> => {
    const text = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text();
    const hit = text.split('\n').find((l) => l.startsWith(`imessage_relay_${line} `));
    return hit === undefined ? 0 : Number(hit.split(' ').at(-1));
  };
  const relaysHealth = async (): Promise<{ state: string; connected: string[]; missing?: string[] }> => {
    const body = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { components: { relays: { state: string; connected: string[]; missing?: string[] } } };
    return body.components.relays;
  };

  /** One impostor attempt: hello, then (when answered) a frame sealed with keys it cannot have. */
  async function attempt(localAddress: string, sealGarbage: boolean): Promise<Outcome> {
    const c = await RawWs.open(env.hubPort, { localAddress });
    try {
      const h = await rawHandshake(c, impostor);
      if (h !== null) {
        if (sealGarbage) c.sendBinary(h.seal({ t: 'hello', v: 1, agent: 'impostor', store: 'fake', cmd_acked: 0 }));
        return 'answered';
      }
      return c.closeCode === 1013 ? 'limited' : 'other';
    } finally {
      c.destroy();
    }
  }

  /** Inserts a message and resolves with the time until the webhook receiver had it. */
  async function latency(n: number): Promise<number> {
    const t0 = Date.now();
    const row = env.writer.insert({ chat: DM, handle: ALICE, text: `m${n}` });
    await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === row.guid), `message ${n} at the webhook`, 20_000);
    return Date.now() - t0;
  }

  before(async () => {
    await env.prepare();
    impostor = { publicKey: relayKeys(env).publicKey, secretKey: generateKeyPair().secretKey };
    bob = pinRelay(env, 'bob');
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
    await waitFor(() => env.hub!.lines.some((l) => l.msg === 'relay connected'), 'the real relay connected');
  });
  after(() => env.close());

  it('a bare hello is answered but counts as no connection in health or metrics', async () => {
    const c = await RawWs.open(env.hubPort, { localAddress: '127.0.0.2' });
    assert.ok(await rawHandshake(c, { publicKey: bob.publicKey, secretKey: generateKeyPair().secretKey }), 'the hub answered a hello with bob\'s key');
    const relays = await relaysHealth();
    assert.equal(relays.state, 'degraded');
    assert.deepEqual(relays.missing, ['bob']);
    assert.deepEqual(relays.connected, ['alice']);
    assert.equal(await metric('relays_connected'), 1);
    c.destroy();
  });

  it('a hello every 30 ms for 20 s: the real relay stays connected and its messages keep their latency', async (t) => {
    const baseline: number[] = [];
    for (let i = 0; i < 8; i++) baseline.push(await latency(i));
    const outcomes: Outcome[] = [];
    const attempts: Array<Promise<void>> = [];
    const health: Array<{ state: string; connected: string[] }> = [];
    const during: number[] = [];
    const t0 = Date.now();
    const until = t0 + 20_000;
    const flood = (async () => {
      for (let i = 0; Date.now() < until; i++) {
        attempts.push(attempt('127.0.0.2', i % 2 === 0).then((o) => { outcomes.push(o); }));
        await new Promise((r) => setTimeout(r, 30));
      }
      await Promise.all(attempts);
    })();
    const watch = (async () => {
      while (Date.now() < until) {
        health.push(await relaysHealth());
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    for (let i = 100; Date.now() < until - 1000; i++) during.push(await latency(i));
    await Promise.all([flood, watch]);
    const floodSeconds = (Date.now() - t0) / 1000;

    assert.ok(outcomes.length >= 300, `the flood ran (${outcomes.length} hellos)`);
    assert.deepEqual(outcomes.filter((o) => o === 'other'), [], 'every hello was answered or limited');
    assert.equal(env.mac!.lines.filter((l) => l.msg === 'link up').length, 1, 'the real relay never lost its link');
    assert.deepEqual(env.mac!.lines.filter((l) => l.msg.startsWith('link down')), []);
    assert.deepEqual(env.hub!.lines.filter((l) => l.msg === 'relay disconnected'), []);
    assert.ok(health.length >= 20 && health.every((h) => h.connected.includes('alice')), `health said alice was connected throughout: ${JSON.stringify(health.filter((h) => !h.connected.includes('alice')))}`);
    assert.ok(during.length >= 10, `messages flowed during the flood (${during.length})`);
    assert.ok(median(during) <= 2 * median(baseline) + 300, `median latency ${median(during)} ms during the flood vs ${median(baseline)} ms before`);
    assert.ok(Math.max(...during) <= Math.max(...baseline) + 2000, `slowest ${Math.max(...during)} ms during the flood vs ${Math.max(...baseline)} ms before`);

    // The address's bucket: 30 at once, then one a second (the bare hello above took one).
    const answered = outcomes.filter((o) => o === 'answered').length;
    t.diagnostic(`${outcomes.length} hellos, ${answered} answered; latency median ${median(baseline)} → ${median(during)} ms, slowest ${Math.max(...baseline)} → ${Math.max(...during)} ms`);
    assert.ok(answered <= 30 + Math.ceil(floodSeconds), `${answered} hellos answered (X25519 work) in ${floodSeconds.toFixed(1)} s`);
    const limited = outcomes.filter((o) => o === 'limited').length;
    assert.equal(await metric('link_handshakes_total{result="limited"}'), limited, 'each limited handshake counted');
    assert.equal(await metric('link_handshakes_total{result="proven"}'), 1, 'only the real relay proved its key');
    const lines = env.hub!.lines.filter((l) => l.msg === 'link: refused a connection: too many handshakes from this address').length;
    assert.ok(lines >= 1 && lines <= 10, `${limited} limited handshakes logged in ${lines} lines`);
  });

  it('hellos with one key from many addresses are limited per key', async () => {
    const outcomes: Outcome[] = [];
    const t0 = Date.now();
    for (let i = 1; i <= 60; i++) outcomes.push(await attempt(`127.0.2.${i}`, false));
    const seconds = (Date.now() - t0) / 1000;
    const answered = outcomes.filter((o) => o === 'answered').length;
    assert.deepEqual(outcomes.filter((o) => o === 'other'), []);
    assert.ok(answered <= 30 + Math.ceil(2 * seconds), `${answered} of 60 answered in ${seconds.toFixed(1)} s: at most the key's bucket of 30 and two a second`);
    await env.hub!.waitForLog(/^link: refused a connection: too many handshakes with this key$/);
    assert.deepEqual((await relaysHealth()).connected, ['alice']);
    assert.equal(env.mac!.lines.filter((l) => l.msg === 'link up').length, 1);
    await latency(1000);
  });
});
