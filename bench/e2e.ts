// End to end (chat.db → relay → hub → webhook receiver) events/s with the compiled daemons, beside a
// plain-ws baseline carrying the same payloads (no crypto, no store) to the same receiver; and the
// backlog: 100,000 events queued while the hub is down, delivered after it returns.
import { WebSocket, WebSocketServer } from 'ws';
import { RelayEnv, SECRET } from '../test/support/relay-env.js';
import { WebhookReceiver } from '../test/support/webhook-receiver.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { createPoster } from '../relay/hub/http-post.js';
import { unixMsToApple } from '../relay/model/apple-time.js';

type Log = (name: string, value: number, unit: string) => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const CHATS = 64;
const chatGuid = (i: number): string => `iMessage;-;+1555000${String(i).padStart(4, '0')}`;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

let inserted = 0;
/** Writes like Messages (row + chat join per message) with bare prepared statements, so the simulated
 * Messages takes as little of the machine's two cores as possible from the pipeline being measured. */
function insertMany(env: RelayEnv, n: number, body: Buffer): void {
  const db = env.writer.db;
  const msg = db.prepare(`INSERT INTO message (guid, attributedBody, handle_id, service, date, is_from_me, is_delivered, is_finished)
    VALUES (?, ?, ?, 'iMessage', ?, 0, 1, 1)`);
  const join = db.prepare('INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)');
  const chats = Array.from({ length: CHATS }, (_, i) => ({ chat: env.writer.chat({ guid: chatGuid(i), identifier: '', participants: [] }), handle: env.writer.handle(chatGuid(i).split(';')[2]!) }));
  const date = unixMsToApple(Date.now());
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const c = chats[i % CHATS]!;
      const id = msg.run(`BENCH-${inserted++}`, body, c.handle, date).lastInsertRowid;
      join.run(c.chat, id, date);
    }
  })();
}

async function newEnv(settleMs: number, webhookConcurrency: number): Promise<RelayEnv> {
  const env = new RelayEnv();
  env.compiled = true;
  env.receiver = new WebhookReceiver(SECRET, true);
  await env.prepare({
    webhook: { concurrency: webhookConcurrency },
    macExtra: { reader: { settleMs, pollIntervalMs: 1000 } },
  });
  for (let i = 0; i < CHATS; i++) env.writer.chat({ guid: chatGuid(i), identifier: chatGuid(i).split(';')[2]!, participants: [chatGuid(i).split(';')[2]!] });
  return env;
}

/** The same webhook POSTs fed by a plain ws (no crypto, no store), with the same number of lanes. */
async function baseline(payloads: readonly string[], concurrency: number): Promise<number> {
  const receiver = new WebhookReceiver('baseline-secret-0123456789', true);
  const hookPort = await receiver.start();
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const queue: string[] = [];
  let active = 0;
  const poster = createPoster(`http://127.0.0.1:${hookPort}/hook`, concurrency);
  const post = (): void => {
    while (active < concurrency && queue.length > 0) {
      const body = queue.shift()!;
      active++;
      void poster.post(body, { 'content-type': 'application/json', 'x-relay-event-id': 'b', 'x-relay-timestamp': '0', 'x-relay-signature': 'x' }, 10_000)
        .catch(() => undefined)
        .finally(() => { active--; post(); });
    }
  };
  wss.on('connection', (ws) => ws.on('message', (d) => { for (const p of JSON.parse(String(d)) as string[]) queue.push(p); post(); }));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  await new Promise((r) => ws.once('open', r));
  const t0 = performance.now();
  for (let i = 0; i < payloads.length; i += 200) ws.send(JSON.stringify(payloads.slice(i, i + 200)));
  await until(() => receiver.ids.size >= payloads.length, 120_000, 'baseline deliveries');
  const s = (performance.now() - t0) / 1000;
  await until(() => active === 0, 10_000, 'baseline requests to finish');
  ws.close();
  wss.close();
  poster.close();
  await receiver.stop();
  return payloads.length / s;
}

export async function e2eBench(log: Log): Promise<void> {
  const body = encodeAttributedBody('A typical message of a few words, as people write them.');
  {
    const n = 40_000;
    const env = await newEnv(50, 32);
    try {
      await env.startHub();
      await env.startMac();
      await env.mac!.waitForLog(/^link up$/);
      // Warm-up: the daemons' code is compiled by V8 as it runs; the figure is the steady state.
      const warm = 5000;
      insertMany(env, warm, body);
      await until(() => env.receiver.ids.size >= warm, 120_000, 'warm-up deliveries');
      const t0 = performance.now();
      insertMany(env, n, body);
      await until(() => env.receiver.ids.size >= warm + n, 180_000, 'e2e deliveries');
      const s = (performance.now() - t0) / 1000;
      log('e2e.events_per_s', n / s, 'events/s');
      log('e2e.settle_ms', 50, 'ms');
      const sample = JSON.stringify({ id: 'message:00000000-0000-0000-0000-000000000000', seq: 1, account: 'alice', prompt: true, event: { kind: 'message', rowid: 1, guid: '00000000-0000-0000-0000-000000000000', date: '2026-11-26T13:10:59.429Z', service: 'iMessage', sender: '+15550000001', chat: { guid: 'iMessage;-;+15550000001', identifier: '+15550000001', name: null, is_group: false, participants: ['+15550000001'] }, backlog: false, text: 'A typical message of a few words, as people write them.', attachments: [], reply_to: null, mentions: [], decode_error: null } });
      const payloads = Array.from({ length: n }, () => sample);
      await baseline(payloads.slice(0, 5000), 32);
      const base = await baseline(payloads, 32);
      log('e2e.plain_ws_baseline_events_per_s', base, 'events/s');
      log('e2e.ratio_baseline_over_ours', base / (n / s), '×');
    } finally {
      await env.close();
    }
  }
  {
    const n = 100_000;
    const env = await newEnv(50, 64);
    try {
      await env.startHub();
      await env.startMac();
      await env.mac!.waitForLog(/^link up$/);
      await env.hub!.stop();
      const t0 = performance.now();
      for (let i = 0; i < n; i += 10_000) insertMany(env, 10_000, body);
      let depth = 0;
      for (;;) {
        const metrics = await (await fetch(`http://127.0.0.1:${env.healthPort}/metrics`)).text();
        depth = Number(/imessage_relay_outbox_depth (\d+)/.exec(metrics)?.[1] ?? 0);
        if (depth >= n) break;
        if (performance.now() - t0 > 180_000) throw new Error(`outbox reached only ${depth}`);
        await sleep(200);
      }
      log('backlog.read_into_outbox_s', (performance.now() - t0) / 1000, 's');
      const t1 = performance.now();
      await env.startHub();
      let stored = 0;
      for (;;) {
        const m = await (await fetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text();
        stored = [...m.matchAll(/imessage_relay_events_received_total\{kind="message"\} (\d+)/g)].reduce((a, x) => a + Number(x[1]), 0);
        if (stored >= n) break;
        if (performance.now() - t1 > 180_000) throw new Error(`hub stored only ${stored}`);
        await sleep(50);
      }
      log('backlog.100k_stored_at_hub_s', (performance.now() - t1) / 1000, 's');
      await until(() => env.receiver.ids.size >= n, 300_000, 'backlog webhook deliveries');
      log('backlog.100k_delivered_to_webhook_s', (performance.now() - t1) / 1000, 's');
    } finally {
      await env.close();
    }
  }
}
