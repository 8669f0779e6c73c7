// Test support for replies through the hub's API: post a send command, wait for its status, count
// the from-me rows chat.db holds for a text, and wait for the fake osascript's in-send signal.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { RelayEnv } from './relay-env.js';

export interface SendStatus {
  readonly id: string;
  readonly status: string;
  readonly apple_guid: string | null;
  readonly error: string | null;
}

/** POST /v1/messages; returns the command id (asserts 202). */
export async function postSend(env: RelayEnv, body: Record<string, unknown>): Promise<string> {
  const res = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/** GET /v1/messages/{id}: the command as the hub shows it now. */
export async function getSend(env: RelayEnv, id: string): Promise<SendStatus> {
  return await (await env.api(`/v1/messages/${id}`)).json() as SendStatus;
}

/** GET /v1/messages/{id} until its status is one of `want` (or the time is up: the last answer). */
export async function sendStatus(env: RelayEnv, id: string, want: readonly string[], timeoutMs = 20_000): Promise<SendStatus> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await getSend(env, id);
    if (want.includes(c.status) || Date.now() > until) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** From-me rows in chat.db holding exactly this text. */
export const fromMeRows = (env: RelayEnv, text: string): Array<{ rowid: number; guid: string }> =>
  env.writer.db.prepare('SELECT ROWID AS rowid, guid FROM message WHERE is_from_me = 1 AND text = ? ORDER BY ROWID').all(text) as Array<{ rowid: number; guid: string }>;

/** The fake osascript's sends of this text (its send log). */
export const sendsOf = (env: RelayEnv, text: string): number => env.sends().filter((s) => s.direct.value === text).length;

/** Waits for the first line the fake osascript writes to `file` from inside `send` (Scenario.signalFile). */
export async function waitForSignal(file: string, timeoutMs = 20_000): Promise<{ pid: number; at: string; text: string }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = existsSync(file) ? readFileSync(file, 'utf8').split('\n').find((l) => l !== '') : undefined;
    if (line !== undefined) return JSON.parse(line) as { pid: number; at: string; text: string };
    if (Date.now() > until) throw new Error(`no signal from the fake osascript in ${file}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
