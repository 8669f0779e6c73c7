// The many-replies set-up shared by the send-load suites: five DMs, the sender's rate limits, posting
// replies through the API and waiting until each has a final status.
import { FAKE_OSASCRIPT } from './fake-messages.js';
import type { RelayEnv } from './relay-env.js';

export const chat = (i: number): string => `iMessage;-;+1555010000${i}`;

/** Hub and relay running, Messages with 5 DMs, the sender limited to `perSecond` overall and `perChat` per chat. */
export async function fiveChats(env: RelayEnv, perSecond: number, perChat: number): Promise<void> {
  await env.prepare({ macExtra: { sender: { osascript: FAKE_OSASCRIPT, perSecond, perChatPerSecond: perChat, confirmMs: 3000 } } });
  for (let c = 0; c < 5; c++) env.writer.chat({ guid: chat(c), identifier: chat(c).split(';')[2]!, participants: [chat(c).split(';')[2]!] });
  await env.startHub();
  await env.startMac();
}

export async function postAll(env: RelayEnv, texts: Array<{ chat: string; text: string }>): Promise<string[]> {
  const ids: string[] = [];
  for (const t of texts) {
    const res = await env.api('/v1/messages', { method: 'POST', headers: { 'idempotency-key': t.text }, body: JSON.stringify({ chat_guid: t.chat, text: t.text }) });
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

async function statuses(env: RelayEnv, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of ids) out.set(id, ((await (await env.api(`/v1/messages/${id}`)).json()) as { status: string }).status);
  return out;
}

export async function settled(env: RelayEnv, ids: string[], timeoutMs: number, done = ['sent', 'delivered', 'read', 'failed', 'unknown']): Promise<Map<string, string>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await statuses(env, ids);
    if ([...s.values()].every((x) => done.includes(x)) || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}
