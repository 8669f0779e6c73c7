// POST /v1/messages with `wait`: the answer waits until the Mac reports the row the send made (its
// ROWID and guid), the send failed, or the time is up. A command that never left the hub is then
// cancelled (certainly not sent: SEND_NOT_STARTED); one that may have is SEND_UNCONFIRMED.
import type { ServerResponse } from 'node:http';
import { AssistantCode } from '../errors.js';
import type { CommandRow } from '../store/hub-commands.js';
import type { HubStore } from '../store/hub-store.js';
import type { EventFeed } from './event-feed.js';

/** What the waiting send answers: the status, and the body (an error's code and message, or the command). */
export type WaitOutcome =
  | { readonly ok: true; readonly commands: readonly CommandRow[] }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

export interface SendWaitDeps {
  readonly store: HubStore;
  /** Woken when command results are stored; closed at shutdown. */
  readonly results: EventFeed;
  /** The highest command seq ever sent to the account's relay by this hub process. */
  readonly sentUpTo: (account: string) => number;
}

const CONFIRMED: ReadonlySet<string> = new Set(['sent', 'delivered', 'read']);

/** Where one command stands: done (row known and accepted, or failed) or still waiting. */
function settled(c: CommandRow): 'ok' | 'failed' | 'unknown' | null {
  if (c.status === 'failed') return 'failed';
  if (c.status === 'unknown') return 'unknown';
  if (CONFIRMED.has(c.status)) return 'ok';
  return null;
}

/**
 * Waits for the commands of one send call (a file and its text are two) until each has its row or
 * one failed; on `res` closing it stops waiting (the commands go on as any send).
 */
export async function waitForSend(deps: SendWaitDeps, account: string, ids: readonly string[], waitMs: number, res: ServerResponse): Promise<WaitOutcome> {
  const until = Date.now() + waitMs;
  let closed = false;
  res.on('close', () => { closed = true; });
  for (;;) {
    const commands = ids.map((id) => deps.store.commands.get(id)).filter((c): c is CommandRow => c !== null);
    const states = commands.map(settled);
    const failed = commands.find((c) => c.status === 'failed');
    if (failed !== undefined) return { ok: false, status: 502, code: AssistantCode.SendFailed, message: failed.error ?? 'the Mac reported the send failed' };
    const unknown = commands.find((c) => c.status === 'unknown');
    if (unknown !== undefined) return { ok: false, status: 504, code: AssistantCode.SendUnconfirmed, message: `the Mac could not confirm the send: ${unknown.error ?? 'no row found'}` };
    if (states.every((s) => s === 'ok')) return { ok: true, commands };
    if (Date.now() >= until || closed || deps.results.closed) {
      // A row is known for every part: the send is confirmed, whatever Messages says of it yet.
      if (commands.every((c) => c.row_id !== null)) return { ok: true, commands };
      const why = deps.results.closed ? 'the hub is shutting down' : `no confirmation within ${Math.round(waitMs / 1000)} s`;
      if (deps.store.commands.cancelUnsent(ids, deps.sentUpTo(account), `SEND_NOT_STARTED: ${why}; cancelled before it left the hub`)) {
        return { ok: false, status: 504, code: AssistantCode.SendNotStarted, message: `${why}; the send never left the hub and is cancelled: nothing was sent` };
      }
      return { ok: false, status: 504, code: AssistantCode.SendUnconfirmed, message: `${why}; the send went to the relay and may still happen (GET /v1/messages/${ids[0]} follows it)` };
    }
    await deps.results.wait(until - Date.now());
  }
}
