// A complete relay + hub set-up on loopback for end-to-end tests: keys, configs, a chat.db with a
// Messages-like writer, a webhook receiver; the daemon and hub run as real child processes.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import type { AttachmentSpec, MessagesDb } from '../../relay/simulator/messages-db.js';
import { makeMessagesDb, sleep, tempDir } from './chatdb-env.js';
import { CliProcess, freePort } from './processes.js';
import { FAKE_OSASCRIPT } from './fake-messages.js';
import type { Scenario } from '../../relay/simulator/messages-app/scenario.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { hubFetch } from './openapi-contract.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const SECRET = 'webhook-secret-0123456789';

export interface RelayEnvOptions {
  readonly hubExtra?: Record<string, unknown>;
  readonly macExtra?: Record<string, unknown>;
  readonly webhook?: Record<string, unknown> | false;
  /** Extra keys of the hub's `api` section (ports and token are filled in). */
  readonly hubApi?: Record<string, unknown>;
  /** Port the Mac dials instead of the hub's (a proxy in between). */
  readonly dialPort?: number;
}

export class RelayEnv {
  readonly dir: string;
  readonly cleanup: () => void;
  readonly writer: MessagesDb;
  receiver = new WebhookReceiver(SECRET);
  hubPort = 0;
  apiPort = 0;
  healthPort = 0;
  hookPort = 0;
  hubConfig = '';
  macConfig = '';
  hub: CliProcess | null = null;
  mac: CliProcess | null = null;
  /** The fake Messages' scenario file (the Mac daemon's osascript is the fake). */
  scenarioFile = '';
  sendLog = '';

  sends(): Array<{ direct: { kind: string; value: string }; to: Record<string, string>; file?: { bytes: number; sha256: string } | null }> {
    return readFileSync(this.sendLog, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as never);
  }

  /** Tells the fake Messages how the next sends turn out (chat.db and send log filled in). */
  messages(s: Omit<Scenario, 'chatDb' | 'sendLog'> = {}): void {
    writeFileSync(this.scenarioFile, JSON.stringify({ ...s, chatDb: this.writer.path, sendLog: this.sendLog }));
  }

  /** Run the compiled daemons (benchmarks) instead of the TypeScript sources under tsx. */
  compiled = false;

  constructor() {
    const t = tempDir('imr-e2e-');
    this.dir = t.dir;
    this.cleanup = t.cleanup;
    this.writer = makeMessagesDb(this.dir, 'minimal');
  }

  async prepare(opts: RelayEnvOptions = {}): Promise<void> {
    const d = this.dir;
    const hubKey = writeNewKeyFile(join(d, 'keys', 'hub.key'));
    const relayKey = writeNewKeyFile(join(d, 'keys', 'relay.key'));
    writeFileSync(join(d, 'keys', 'token'), TOKEN, { mode: 0o600 });
    writeFileSync(join(d, 'keys', 'whsecret'), SECRET, { mode: 0o600 });
    chmodSync(join(d, 'keys', 'token'), 0o600);
    this.hubPort = await freePort();
    this.apiPort = await freePort();
    this.healthPort = await freePort();
    const hookPort = opts.webhook === false ? 0 : await this.receiver.start();
    this.hookPort = hookPort;
    const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');
    this.scenarioFile = join(d, 'messages-scenario.json');
    this.sendLog = join(d, 'sends.ndjson');
    writeFileSync(this.sendLog, '');
    this.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    this.hubConfig = join(d, 'hub.json');
    this.macConfig = join(d, 'mac.json');
    mkdirSync(join(d, 'hub'), { recursive: true });
    writeFileSync(this.hubConfig, JSON.stringify({
      dataDir: join(d, 'hub'), keyFile: join(d, 'keys', 'hub.key'),
      listen: { port: this.hubPort }, api: { port: this.apiPort, tokenFile: join(d, 'keys', 'token'), ...opts.hubApi },
      relays: [{ account: 'alice', publicKey: b64(relayKey.publicKey) }],
      webhooks: opts.webhook === false ? [] : [{ name: 'main', url: `http://127.0.0.1:${hookPort}/hook`, secretFile: join(d, 'keys', 'whsecret'), backoffBaseMs: 100, backoffCapMs: 1000, ...opts.webhook }],
      link: { heartbeatMs: 1000, deadAfterMs: 3000, backoffBaseMs: 50, backoffCapMs: 500 },
      log: { level: 'info', file: join(d, 'hub', 'logs', 'hub.log') },
      ...opts.hubExtra,
    }));
    writeFileSync(this.macConfig, JSON.stringify({
      chatDb: this.writer.path, dataDir: join(d, 'mac'), keyFile: join(d, 'keys', 'relay.key'),
      hub: { url: `ws://127.0.0.1:${opts.dialPort ?? this.hubPort}`, publicKey: b64(hubKey.publicKey) },
      health: { port: this.healthPort }, reader: { settleMs: 100, pollIntervalMs: 200 },
      sender: { osascript: FAKE_OSASCRIPT, perSecond: 50, perChatPerSecond: 50, confirmMs: 3000, timeoutMs: 5000 },
      link: { heartbeatMs: 1000, deadAfterMs: 3000, backoffBaseMs: 50, backoffCapMs: 500 },
      log: { level: 'info', file: join(d, 'mac', 'logs', 'relay.log') },
      ...opts.macExtra,
    }));
  }

  async startHub(): Promise<CliProcess> {
    this.hub = new CliProcess(['hub', '--config', this.hubConfig], {}, this.compiled);
    await this.hub.waitForLog(/^hub started$/);
    return this.hub;
  }

  async startMac(): Promise<CliProcess> {
    this.mac = new CliProcess(['run', '--config', this.macConfig], { FAKE_MESSAGES_SCENARIO: this.scenarioFile }, this.compiled);
    await this.mac.waitForLog(/^relay started$/);
    return this.mac;
  }

  /** Starts the hub and the relay and resolves once the link between them is up. */
  async startLinked(): Promise<void> {
    await this.startHub();
    await this.startMac();
    await this.mac!.waitForLog(/^link up$/);
  }

  /** A request to the hub's API with the token (and a JSON type); its answer is checked against openapi.json. */
  api(path: string, init: RequestInit = {}): Promise<Response> {
    return hubFetch(`http://127.0.0.1:${this.apiPort}${path}`, {
      ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });
  }

  /**
   * A command as GET /v1/messages/{id} shows it, polled until its status is one of `want` (or the
   * timeout passes: then the last answer). The one poll-until-status helper of the suite.
   */
  async commandStatus<T extends { status: string } = { status: string; apple_guid: string | null; error: string | null }>(id: string, want: readonly string[], timeoutMs = 15_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const c = await (await this.api(`/v1/messages/${id}`)).json() as T;
      if (want.includes(c.status) || Date.now() > until) return c;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The status of each command once all of them are in `want` (or at the timeout). */
  async commandStatuses(ids: readonly string[], want: readonly string[], timeoutMs: number): Promise<Map<string, string>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const out = new Map<string, string>();
      for (const id of ids) out.set(id, ((await (await this.api(`/v1/messages/${id}`)).json()) as { status: string }).status);
      if ([...out.values()].every((x) => want.includes(x)) || Date.now() > until) return out;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Writes one more message into `chat` and waits until the webhook receiver has it: a positive sign
   * that everything written into that chat before has been delivered, retries included (a chat's
   * events go out in order, one at a time). Returns its guid.
   */
  async marker(chat: string, timeoutMs = 30_000): Promise<string> {
    const { guid } = this.writer.insert({ chat, handle: ALICE, text: `marker ${Date.now()}` });
    const until = Date.now() + timeoutMs;
    while (!this.receiver.received.some((r) => r.body.event['guid'] === guid)) {
      if (Date.now() > until) throw new Error(`timed out waiting for the marker in ${chat}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return guid;
  }

  health(): Promise<{ status: number; body: { status: string; components: Record<string, { state: string; reason: string | null }> } }> {
    return fetch(`http://127.0.0.1:${this.healthPort}/health`).then(async (r) => ({ status: r.status, body: await r.json() as never }));
  }

  async close(): Promise<void> {
    await Promise.all([this.mac?.stop(), this.hub?.stop()]);
    await this.receiver.stop();
    this.writer.close();
    this.cleanup();
  }
}

export const DM = 'iMessage;-;+15555550123';
export const ALICE = '+15555550123';

/** A message from Alice in the DM that is only an attachment (its row, then its attachment row). */
export function attachmentFromAlice(env: RelayEnv, attachment: AttachmentSpec): void {
  const row = env.writer.insert({ chat: DM, handle: ALICE, text: '\uFFFC' });
  env.writer.attach(row.rowid, attachment);
}

/** Polls GET /v1/attachments/{guid} until it answers something other than 503 (pending) or 404 (its event not here yet). */
export async function fetchAttachment(env: RelayEnv, url: string, timeoutMs = 15_000): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await hubFetch(`http://127.0.0.1:${env.apiPort}${url}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if ((res.status !== 503 && res.status !== 404) || Date.now() > until) return res;
    await res.arrayBuffer();
    await sleep(100);
  }
}
