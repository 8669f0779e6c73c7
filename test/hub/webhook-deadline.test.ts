// Webhook receivers that answer but never finish: `timeoutMs` is a deadline for the whole request
// (connect + headers + body), the response body read is capped, and a stuck receiver holds only its
// own chat's lane for at most the deadline per attempt; other lanes and other webhooks keep flowing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPoster, MAX_RESPONSE_BYTES } from '../../relay/hub/http-post.js';
import { waitFor } from '../support/chatdb-env.js';
import { DispatchEnv, testHook } from '../support/dispatch-env.js';
import { RawWebhookReceiver, type RawAnswer } from '../support/raw-webhook-receiver.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'webhook-secret-0123456789';
/** Generous: the machine is shared; a hang is unbounded, so any finite bound tells them apart. */
const SLACK_MS = 1500;

/** Settles like `p`, or rejects once `ms` have passed (the old poster never settled at all). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still not settled after ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a POST took to fail, and with what. */
async function failure(p: Promise<unknown>, boundMs: number, what: string): Promise<{ ms: number; message: string }> {
  const t0 = Date.now();
  const err = await within(p.then(() => null, (e: Error) => e), boundMs, what);
  assert.ok(err !== null, `${what}: the POST must fail, not succeed`);
  return { ms: Date.now() - t0, message: err.message };
}

describe('webhook POST deadline and response cap', () => {
  it('fails a trickling, a never-ending (slow or fast) and a silent answer; the pool keeps working', async () => {
    const answers: Record<string, RawAnswer> = {
      trickle: { kind: 'trickle' },
      endlessSlow: { kind: 'endless', chunkBytes: 64, everyMs: 100 },
      endlessFast: { kind: 'endless', chunkBytes: 16 * 1024, everyMs: 0 },
      silent: { kind: 'silent' },
    };
    const raw = new RawWebhookReceiver(({ id }) => answers[id] ?? { kind: 'ok' });
    const port = await raw.start();
    const poster = createPoster(`http://127.0.0.1:${port}/hook`, 8);
    try {
      const timeoutMs = 2000;
      const post = (id: string, ms = timeoutMs): Promise<unknown> => poster.post('{}', { 'x-relay-event-id': id, 'x-relay-delivery-attempt': '1' }, ms);
      const [trickle, endlessSlow, endlessFast, silent] = await Promise.all([
        failure(post('trickle'), timeoutMs + SLACK_MS, 'trickling body'),
        failure(post('endlessSlow'), timeoutMs + SLACK_MS, 'endless slow body'),
        // A long deadline: the size cap, not the clock, must end this one.
        failure(post('endlessFast', 30_000), 30_000 / 2, 'endless fast body'),
        failure(post('silent'), timeoutMs + SLACK_MS, 'no answer'),
      ]);
      for (const [what, f] of [['trickle', trickle], ['endless slow', endlessSlow], ['silent', silent]] as const) {
        assert.match(f.message, /within 2000 ms/, `${what}: failed by the deadline`);
        assert.ok(f.ms >= timeoutMs - 50, `${what}: not before the deadline (${f.ms} ms)`);
      }
      assert.match(endlessFast.message, new RegExp(`over ${MAX_RESPONSE_BYTES} bytes`));
      // Every stuck connection was closed by the poster, not left open.
      await waitFor(() => raw.requests.every((r) => r.answer === 'ok' || r.closedAt !== null), 'the stuck connections closed', SLACK_MS);
      const trickled = raw.requests.find((r) => r.id === 'trickle')!;
      assert.ok(trickled.bytesSent >= 1, 'the receiver did trickle bytes before the deadline');
      assert.equal((await within(poster.post('{}', { 'x-relay-event-id': 'fine' }, timeoutMs), timeoutMs + SLACK_MS, 'a normal POST')).status, 200);
    } finally {
      poster.close();
      await raw.stop();
    }
  });
});

describe('webhook dispatcher with a stuck receiver', () => {
  it('fails each attempt at the deadline, dead-letters after maxAttempts, moves the lane on; other lanes and webhooks flow meanwhile', async () => {
    // Chat T's first message gets a trickled answer, chat E's first a slow endless body, every time.
    const stuck: Record<string, RawAnswer> = { T1: { kind: 'trickle' }, E1: { kind: 'endless', chunkBytes: 64, everyMs: 100 } };
    const guidOf = (body: string): string => String((JSON.parse(body) as { event: { guid: string } }).event.guid);
    const raw = new RawWebhookReceiver(({ body }) => stuck[guidOf(body)] ?? { kind: 'ok' });
    const good = new WebhookReceiver(SECRET);
    const timeoutMs = 2000;
    const env = new DispatchEnv([
      testHook('edge', `http://127.0.0.1:${await raw.start()}/hook`, SECRET, { timeoutMs, maxAttempts: 2 }),
      testHook('main', `http://127.0.0.1:${await good.start()}/hook`, SECRET, { timeoutMs }),
    ]);
    const at = (guid: string): typeof raw.requests => raw.requests.filter((r) => guidOf(r.body) === guid);
    try {
      env.ingest('+1555000T', ['T1', 'T2']);
      env.ingest('+1555000E', ['E1', 'E2']);
      await waitFor(() => at('T1').length === 1 && at('E1').length === 1, 'the stuck answers started', 5000);

      const fast = ['F1', 'F2', 'F3', 'F4', 'F5'];
      env.ingest('+1555000F', fast);
      await waitFor(() => fast.every((g) => at(g).length === 1), 'the other chat delivered to the stuck receiver', timeoutMs);
      assert.ok(at('T1').length === 1 && at('E1').length === 1 && at('T1')[0]!.closedAt === null && at('E1')[0]!.closedAt === null,
        'chat F went through while T and E were still held by their first attempt');
      assert.equal(at('T2').length + at('E2').length, 0, 'a lane keeps its order: T2 and E2 wait behind T1 and E1');
      await waitFor(() => good.distinct().length === 9, 'the other webhook got every event', timeoutMs);

      // Two attempts each, then the lane moves on: bounded by 2 deadlines + backoff, never a hang.
      await waitFor(() => at('T2').length === 1 && at('E2').length === 1, 'the stuck lanes moved on', 2 * (timeoutMs + SLACK_MS));
      for (const guid of ['T1', 'E1']) {
        const reqs = at(guid);
        assert.deepEqual(reqs.map((r) => r.attempt), [1, 2], `${guid}: two attempts`);
        for (const r of reqs) {
          assert.ok(r.closedAt !== null, `${guid}: attempt ${r.attempt} closed by the hub`);
          const held = r.closedAt - r.arrivedAt;
          // The hub's deadline starts before the receiver sees the request (connect, a busy machine): up to 1 s earlier.
          assert.ok(held >= timeoutMs - 1000 && held <= timeoutMs + SLACK_MS, `${guid}: attempt ${r.attempt} held ${held} ms for a ${timeoutMs} ms deadline`);
        }
        const next = at(`${guid[0]}2`)[0]!;
        assert.ok(next.arrivedAt >= reqs[1]!.closedAt!, `${guid[0]}2 only after ${guid} gave up`);
      }
      const dead = env.store.deliveries.dead();
      assert.deepEqual(dead.map((d) => [d.hook, JSON.parse(d.body).guid as string, d.attempts]).sort(), [['edge', 'E1', 2], ['edge', 'T1', 2]]);
      assert.ok(dead.every((d) => /within 2000 ms/.test(d.last_error ?? '')), 'the dead letter says the deadline passed');
      assert.deepEqual(good.posts.filter((p) => !p.ok), [], 'the other webhook never failed');
    } finally {
      env.close();
      await raw.stop();
      await good.stop();
    }
  });
});
