// The whole pipeline with the hub's built-in assistant on: simulated Messages → relay → hub → a local
// model server (model-server.ts) → the reply through the relay into chat.db. Helpers read what a
// user would see: the rows sent from the account into a chat, the hub's health and metrics.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ModelServer } from './model-server.js';
import { RelayEnv } from './relay-env.js';

export const MODEL_KEY = 'sk-test-0123456789';

export class AssistantEnv extends RelayEnv {
  readonly model = new ModelServer();

  /** Prepares the hub with `assistant` settings (baseUrl and the key file filled in) and starts everything. */
  async startWith(assistant: Record<string, unknown>, chats: ReadonlyArray<{ guid: string; identifier: string; participants: string[]; group?: boolean }>,
    macExtra?: Record<string, unknown>): Promise<void> {
    await this.model.start();
    const keyFile = join(this.dir, 'model.key');
    writeFileSync(keyFile, MODEL_KEY, { mode: 0o600 });
    await this.prepare({ hubExtra: { assistant: { enabled: true, baseUrl: this.model.url, model: 'test-model', apiKeyFile: keyFile, ...assistant } }, macExtra });
    for (const c of chats) this.writer.chat({ guid: c.guid, identifier: c.identifier, participants: c.participants, group: c.group ?? false, name: c.group === true ? 'Crew' : undefined });
    await this.startLinked();
  }

  /** Texts of the rows sent from the account into `chat`, oldest first. */
  sentInto(chat: string): string[] {
    return (this.writer.db.prepare(`SELECT m.text FROM message m JOIN chat_message_join j ON j.message_id = m.ROWID JOIN chat c ON c.ROWID = j.chat_id
      WHERE c.guid = ? AND m.is_from_me = 1 ORDER BY m.ROWID`).pluck().all(chat) as Array<string | null>).map((t) => t ?? '');
  }

  /** Waits until `n` rows were sent from the account into `chat`; returns their texts. */
  async waitForSent(chat: string, n: number, timeoutMs = 20_000): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rows = this.sentInto(chat);
      if (rows.length >= n) return rows;
      if (Date.now() > until) {
        const hubLines = (this.hub?.lines ?? []).filter((l) => /assistant|relay (dis)?connected/.test(l.msg)).map((l) => `${l.msg} ${JSON.stringify({ code: l['code'], err: l['err'], cursor: l['cursor'], chats: l['chats'] })}`);
        const macLines = (this.mac?.lines ?? []).filter((l) => /send|command|link/.test(l.msg)).slice(-15).map((l) => `${l.msg} ${JSON.stringify({ code: l['code'], status: l['status'], err: l['err'], error: l['error'] })}`);
        throw new Error(`${rows.length} rows sent into ${chat}, not ${n}: ${JSON.stringify(rows)}; the model got ${this.model.requests.length} requests; commands ${JSON.stringify(this.hubCommands())}; hub: ${hubLines.join(' | ')}; relay: ${macLines.join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The hub's full health report (with the token). */
  async hubHealth(): Promise<{ status: number; body: { status: string; components: Record<string, { state: string; reason: string | null; code?: string }> } }> {
    const res = await this.api('/health');
    return { status: res.status, body: await res.json() as never };
  }

  /** A counter of the hub's /metrics (sum over the label sets matching `labels`). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await this.api('/metrics')).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^imessage_relay_(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (m === null || m[1] !== name) continue;
      if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
    }
    return sum;
  }

  /** Waits until the counter reaches `atLeast`. */
  async waitForMetric(name: string, labels: Record<string, string>, atLeast: number, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await this.metric(name, labels)) < atLeast) {
      if (Date.now() > until) throw new Error(`${name}${JSON.stringify(labels)} stayed below ${atLeast}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Send commands in the hub's store (read-only look): idempotency key and text. */
  hubCommands(): Array<{ key: string | null; text: string | null; chat: string | null; status: string }> {
    const db = new Database(join(this.dir, 'hub', 'hub.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT idempotency_key AS key, body, status FROM commands WHERE status != 'chunk' ORDER BY seq").all() as Array<{ key: string | null; body: string; status: string }>)
        .map((r) => { const b = JSON.parse(r.body) as { text?: string; chat_guid?: string }; return { key: r.key, text: b.text ?? null, chat: b.chat_guid ?? null, status: r.status }; });
    } finally {
      db.close();
    }
  }

  override async close(): Promise<void> {
    await super.close();
    await this.model.stop();
  }
}
