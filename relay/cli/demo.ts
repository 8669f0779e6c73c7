// `imessage-relay demo`: the relay's main job on a built-in default, on any machine. A simulated
// Messages writes a short conversation into a fresh chat.db (WAL, writer kept open, rows updated
// after insert as Messages does); the real Mac daemon reads it and carries it over the sealed link
// to a real hub, which signs and POSTs each event to a local webhook receiver that prints it. Then
// an assistant's reply (a text and a file) goes back through the REST API, the link and our real
// JXA scripts run against the simulated Messages, and the incoming photo is fetched from the hub.
// The hub's built-in assistant answers Alice's first message: a local echo, or a real model (--model).
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NO_TUNNEL } from '../config/tunnel-config.js';
import { systemClock } from '../clock.js';
import { Hub } from '../hub/hub.js';
import { verify } from '../hub/webhook-signature.js';
import { writeNewKeyFile } from '../link/keys.js';
import { silentLogger } from '../logger.js';
import { MacDaemon } from '../mac/daemon.js';
import { unixMsToApple } from '../model/apple-time.js';
import type { RelayEvent } from '../model/events.js';
import { MessagesDb } from '../simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../simulator/schema.js';
import { encodeAttributedBody as encodeBody } from '../simulator/typedstream-writer.js';
import { simulatedRunScript } from '../simulator/messages-app/simulated-osascript.js';
import { formatEvent } from './format-event.js';
import { UsageError, type CliIo } from './io.js';
import { DEFAULT_SYSTEM_PROMPT } from '../config/assistant-config.js';
import { startEchoModel } from './demo-model.js';

export const DEMO_USAGE = `imessage-relay demo [--json] [--model <base URL> [--model-name <name>]]
  Runs the whole pipeline on this machine: a simulated Messages → the Mac daemon → the sealed link →
  the hub → a webhook receiver that prints every event an assistant would get; the hub's built-in
  assistant answers the first message (a local echo, or with --model any chat-completions server,
  e.g. https://api.openai.com/v1, with MODEL_API_KEY in the environment; --model-name, default
  gpt-4o-mini); then one reply through the REST API (a text and a file) into the simulated Messages,
  followed until delivered. Nothing to configure; everything lives in a temp folder and is removed.`;

const ALICE = '+15555550123';
const BOB = 'bob@example.com';
const DM = `iMessage;-;${ALICE}`;
const GROUP = 'iMessage;+;chat100000000000000001';
const LINK = { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 100, backoffCapMs: 1000 };

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the demo; resolves with the exit code. */
export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean' }, model: { type: 'string' }, 'model-name': { type: 'string' } }, strict: true });
  const json = values.json === true;
  const apiKey = process.env['MODEL_API_KEY'];
  if (values.model !== undefined && !/^https?:\/\/[^/]/.test(values.model)) throw new UsageError('--model must be the base URL of a chat-completions API, e.g. https://api.openai.com/v1');
  if (values.model !== undefined && (apiKey === undefined || apiKey === '')) throw new UsageError('--model needs MODEL_API_KEY in the environment (any value for a server without keys)');
  const echo = values.model === undefined ? await startEchoModel() : null;
  const home = mkdtempSync(join(tmpdir(), 'imessage-relay-demo-'));
  const dir = join(home, 'Library', 'Messages');
  mkdirSync(join(dir, 'Attachments', 'ab'), { recursive: true });
  const messages = new MessagesDb(join(dir, 'chat.db'), [MINIMAL_CHATDB_SCHEMA]);
  const secret = 'demo-webhook-secret-0123456789';
  const token = 'demo-api-token-0123456789';
  const seen: RelayEvent[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      const signed = verify(secret, Number(req.headers['x-relay-timestamp']), body, String(req.headers['x-relay-signature']), Math.floor(Date.now() / 1000));
      const payload = JSON.parse(body) as { prompt: boolean; event: RelayEvent };
      seen.push(payload.event);
      io.stdout(json ? `${body}\n` : `webhook ${signed ? '✓' : '✗ BAD SIGNATURE'} ${payload.prompt ? 'prompt ' : '       '}${formatEvent(payload.event)}\n`);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const hookPort = (receiver.address() as { port: number }).port;
  const hubKey = writeNewKeyFile(join(home, 'hub', 'hub.key'));
  const relayKey = writeNewKeyFile(join(home, 'relay', 'relay.key'));
  const logger = silentLogger();
  const hub = new Hub({
    clock: systemClock, logger,
    config: {
      dataDir: join(home, 'hub'), keyFile: join(home, 'hub', 'hub.key'), listen: { host: '127.0.0.1', port: 0 },
      api: { host: '127.0.0.1', port: 0, token, maxFileBytes: 100 * 1024 * 1024 }, relays: [{ account: 'demo', publicKey: Buffer.from(relayKey.publicKey).toString('base64') }],
      webhooks: [{ name: 'demo', url: `http://127.0.0.1:${hookPort}/hook`, secret, maxAttempts: 5, backoffBaseMs: 100, backoffCapMs: 1000, timeoutMs: 5000, concurrency: 4 }],
      link: LINK, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
      assistant: {
        enabled: true, baseUrl: echo?.baseUrl ?? values.model!, model: values['model-name'] ?? (echo === null ? 'gpt-4o-mini' : 'echo'),
        apiKey: echo === null ? apiKey! : 'demo', systemPrompt: DEFAULT_SYSTEM_PROMPT, timeoutMs: 60_000, retries: 2, maxRetryAfterMs: 30_000,
        requestsPerSecond: 10, maxHistory: 20, allow: [], notAllowedReply: null, name: 'Assistant', handles: [], vision: false,
        maxImageBytes: 5 * 1024 * 1024, imageWaitMs: 10_000, apologyText: 'Sorry, the assistant cannot answer right now.', apologyMinutes: 10, failureThreshold: 3,
      },
    },
  });
  const ports = await hub.start();
  const mac = new MacDaemon({
    clock: systemClock, logger,
    homeDir: home,
    runScript: simulatedRunScript({ chatDb: join(dir, 'chat.db'), sentAfterMs: 100, finalAfterMs: 200, readableRoot: dir }),
    config: {
      chatDb: messages.path, dataDir: join(home, 'relay'), keyFile: join(home, 'relay', 'relay.key'),
      hubUrl: `ws://127.0.0.1:${ports.linkPort}`, hubPublicKey: Buffer.from(hubKey.publicKey).toString('base64'),
      health: { host: '127.0.0.1', port: 0 }, reader: { settleMs: 250, ageFenceMinutes: 15, pollIntervalMs: 1000 },
      link: { ...LINK, window: 5000, batch: 500 }, outbox: { degradedDepth: 1000, degradedAgeSeconds: 120 },
      sender: { enabled: true, osascript: '/usr/bin/osascript', timeoutMs: 30_000, perSecond: 3, perChatPerSecond: 3, confirmMs: 10_000, followMs: 600_000 },
      attachments: { stagingDir: join(dir, 'Attachments', 'imessage-relay'), maxBytes: 100 * 1024 * 1024, waitSeconds: 60, upload: true },
      quietMinutes: 0, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
    },
  });
  if (!json) io.stderr(`demo: simulated Messages at ${dir}; relay → sealed link → hub on 127.0.0.1:${ports.linkPort} → webhook on :${hookPort}\n`);
  await mac.start();
  try {
    for (let i = 0; i < 100 && mac.health().components['link']?.state !== 'ok'; i++) await wait(20);
    messages.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    messages.chat({ guid: GROUP, identifier: 'chat100000000000000001', group: true, name: 'Weekend crew', participants: [ALICE, BOB] });
    const hello = messages.insert({ chat: DM, handle: ALICE, body: encodeBody('Hi! Can you remind me to buy milk?') });
    // The built-in assistant answers it: its reply comes back as a from-me event naming its command.
    const answered = (): RelayEvent | undefined => seen.find((e) => e.kind === 'from_me' && e.command_id !== null && e.text !== 'Reminder set for 6 pm. Here is your list.');
    for (let i = 0; i < 3000 && answered() === undefined; i++) await wait(20);
    const assistantReply = answered();
    if (!json) io.stderr(`demo: the built-in assistant (${echo === null ? `model ${values['model-name'] ?? 'gpt-4o-mini'} at ${values.model}` : 'a local echo; try --model'}) ${assistantReply === undefined ? 'did not answer within 60 s' : `answered: ${JSON.stringify(assistantReply.kind === 'from_me' ? assistantReply.text : '')}`}\n`);
    const reply = messages.insert({ chat: DM, fromMe: true, handle: ALICE, body: encodeBody('Sure, at 6 pm.') });
    await wait(100);
    messages.update(reply.rowid, { is_sent: 1, is_finished: 1 });
    await wait(400);
    messages.update(reply.rowid, { is_delivered: 1, date_delivered: unixMsToApple(Date.now()) });
    messages.insert({ chat: DM, handle: ALICE, associatedGuid: `p:0/${reply.guid}`, associatedType: 2000 });
    await wait(400);
    messages.update(hello.rowid, { attributedBody: encodeBody('Hi! Can you remind me to buy oat milk?'), date_edited: unixMsToApple(Date.now()) });
    writeFileSync(join(dir, 'Attachments', 'ab', 'IMG_0001.jpeg'), Buffer.alloc(1024));
    const pic = messages.insert({ chat: GROUP, handle: BOB, body: encodeBody('look @Alice \uFFFC', [{ length: 5 }, { length: 6, mention: ALICE }, { length: 1 }, { length: 1, fileTransferGuid: 'at_0_DEMO' }]) });
    messages.attach(pic.rowid, { guid: 'at_0_DEMO', filename: '~/Library/Messages/Attachments/ab/IMG_0001.jpeg', mimeType: 'image/jpeg', uti: 'public.jpeg', bytes: 1024 });
    messages.insert({ chat: GROUP, handle: BOB, itemType: 2, groupTitle: 'Hiking crew' });
    messages.insert({ chat: DM, handle: ALICE, text: 'an old message synced from iCloud', dateMs: Date.now() - 3 * 24 * 3600_000 });
    for (let i = 0; i < 150 && seen.length < 8; i++) await wait(20);
    const api = `http://127.0.0.1:${ports.apiPort}`;
    const auth = { authorization: `Bearer ${token}` };
    const answer = new FormData();
    answer.set('chat_guid', DM);
    answer.set('text', 'Reminder set for 6 pm. Here is your list.');
    answer.set('file', new Blob(['oat milk\nbread\n'], { type: 'text/plain' }), 'shopping list.txt');
    const res = await fetch(`${api}/v1/messages`, { method: 'POST', headers: { ...auth, 'idempotency-key': 'demo-1' }, body: answer });
    const command = await res.json() as { id: string; status: string; followed_by?: { id: string } };
    const ids = [command.id, command.followed_by?.id].filter((x): x is string => x !== undefined);
    if (!json) io.stderr(`demo: POST /v1/messages (a file and a text) → ${res.status} ${command.status}\n`);
    const finals: string[] = [];
    for (const id of ids) {
      let status = 'queued';
      for (let i = 0; i < 250 && !['delivered', 'read', 'failed', 'unknown'].includes(status); i++) {
        await wait(20);
        status = ((await (await fetch(`${api}/v1/messages/${id}`, { headers: auth })).json()) as { status: string }).status;
      }
      finals.push(status);
    }
    let photo = await fetch(`${api}/v1/attachments/at_0_DEMO`, { headers: auth });
    for (let i = 0; i < 100 && photo.status === 503; i++) {
      await wait(50);
      photo = await fetch(`${api}/v1/attachments/at_0_DEMO`, { headers: auth });
    }
    const photoBytes = (await photo.arrayBuffer()).byteLength;
    for (let i = 0; i < 100 && !seen.some((e) => e.kind === 'from_me' && e.command_id === command.followed_by?.id); i++) await wait(20);
    if (!json) {
      io.stderr(`demo: the reply went through the simulated Messages: file ${finals[0]}, text ${finals[1]}\n`);
      io.stderr(`demo: GET /v1/attachments/at_0_DEMO → ${photo.status} (${photoBytes} bytes)\n`);
      io.stderr(`demo: ${seen.length} events reached the webhook; relay health ${mac.health().status}, hub health ${hub.health().status}\n`);
    }
    return assistantReply !== undefined && seen.length >= 8 && res.status === 202 && finals.every((f) => f === 'delivered') && photo.status === 200 && photoBytes === 1024 ? 0 : 1;
  } finally {
    await mac.stop();
    await hub.stop();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    messages.close();
    await echo?.close();
    rmSync(home, { recursive: true, force: true });
  }
}
