// Built-in replies (issue 11 §6): a message written into chat.db → the model server receives the
// request (p99 target: settle window + 30 ms, the model answering at once), and the model's answer
// handed to the socket → osascript started for the reply (p99 target: 20 ms). The hub runs in its own
// process (bench/assistant-hub-peer.ts); the Mac daemon, the model server and chat.db here, so all
// times are read on one clock. osascript costs nothing (the "script" writes the sent row itself).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../relay/clock.js';
import { NO_TUNNEL } from '../relay/config/tunnel-config.js';
import { writeNewKeyFile } from '../relay/link/keys.js';
import { silentLogger } from '../relay/logger.js';
import { MacDaemon } from '../relay/mac/daemon.js';
import { MessagesDb } from '../relay/simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../relay/simulator/schema.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { lastUserText, ModelServer } from '../test/support/model-server.js';
import { percentile } from './support.js';

type Log = (name: string, value: number, unit: string) => void;
const DM = 'iMessage;-;+15555550123';
const HANDLE = '+15555550123';
const SETTLE_MS = 200;
const LINK = { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 50, backoffCapMs: 500 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();

export async function assistantBench(log: Log): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'imr-assistant-bench-'));
  const messages = new MessagesDb(join(home, 'chat.db'), [MINIMAL_CHATDB_SCHEMA]);
  messages.chat({ guid: DM, identifier: HANDLE, participants: [HANDLE] });
  const model = new ModelServer();
  model.respond = (r) => ({ reply: `reply to ${lastUserText(r)}` });
  await model.start();
  const hubKey = writeNewKeyFile(join(home, 'hub.key'));
  const relayKey = writeNewKeyFile(join(home, 'relay.key'));
  const started = new Map<string, number>();
  const peer = fork(fileURLToPath(new URL('./assistant-hub-peer.ts', import.meta.url)),
    [JSON.stringify({ home, relayPublicKey: Buffer.from(relayKey.publicKey).toString('base64'), modelUrl: model.url })],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { linkPort } = await new Promise<{ linkPort: number }>((resolve) => peer.once('message', (m) => resolve(m as { linkPort: number })));
  const mac = new MacDaemon({
    clock: systemClock, logger: silentLogger(),
    runScript: async (_name, args) => {
      const text = args['text']!;
      started.set(text, now());
      messages.insert({ chat: DM, fromMe: true, handle: HANDLE, text, body: encodeAttributedBody(text), isSent: true });
      return { ok: true };
    },
    config: {
      chatDb: messages.path, dataDir: join(home, 'relay'), keyFile: join(home, 'relay.key'),
      hubUrl: `ws://127.0.0.1:${linkPort}`, hubPublicKey: Buffer.from(hubKey.publicKey).toString('base64'),
      health: { host: '127.0.0.1', port: 0 }, reader: { settleMs: SETTLE_MS, ageFenceMinutes: 15, pollIntervalMs: 1000 },
      link: { ...LINK, window: 5000, batch: 500 }, outbox: { degradedDepth: 100_000, degradedAgeSeconds: 600 },
      sender: { enabled: true, osascript: '/nonexistent', timeoutMs: 5000, perSecond: 100, perChatPerSecond: 100, confirmMs: 5000, followMs: 1000 },
      attachments: { stagingDir: join(home, 'staging'), maxBytes: 1024 * 1024, waitSeconds: 60, upload: false },
      quietMinutes: 0, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
    },
  });
  await mac.start();
  try {
    while (mac.health().components['link']?.state !== 'ok') await sleep(10);
    const toModel: number[] = [];
    const toOsascript: number[] = [];
    const samples = 150;
    for (let i = 0; i < samples; i++) {
      const text = `question ${i}`;
      const index = model.requests.length;
      const t0 = now();
      messages.insert({ chat: DM, handle: HANDLE, text, body: encodeAttributedBody(text) });
      const until = Date.now() + 10_000;
      while (!started.has(`reply to ${text}`)) {
        if (Date.now() > until) throw new Error(`no reply to ${text}`);
        await sleep(0.5);
      }
      const req = model.requests[index]!;
      if (lastUserText(req) !== text) throw new Error(`request ${index} was not for ${text}`);
      toModel.push(req.at - t0);
      toOsascript.push(started.get(`reply to ${text}`)! - model.answeredAt[index]!);
      await sleep(20 + Math.random() * 80);
    }
    toModel.splice(0, 10); // warm-up
    toOsascript.splice(0, 10);
    log('assistant.settle_ms', SETTLE_MS, 'ms');
    log('assistant.chatdb_to_model_request_p50_ms', percentile(toModel, 50), 'ms');
    log('assistant.chatdb_to_model_request_p99_ms', percentile(toModel, 99), `ms (target ≤ settle + 30 = ${SETTLE_MS + 30})`);
    log('assistant.chatdb_to_model_request_p99_over_settle_ms', percentile(toModel, 99) - SETTLE_MS, 'ms (target ≤ 30)');
    log('assistant.model_reply_to_osascript_p50_ms', percentile(toOsascript, 50), 'ms');
    log('assistant.model_reply_to_osascript_p99_ms', percentile(toOsascript, 99), 'ms (target ≤ 20)');
  } finally {
    await mac.stop();
    const exited = new Promise((r) => peer.once('exit', r));
    peer.send({ t: 'stop' });
    await exited;
    await model.stop();
    messages.close();
    rmSync(home, { recursive: true, force: true });
  }
}
