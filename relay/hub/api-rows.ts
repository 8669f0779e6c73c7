// GET /v1/rows: one account's chat.db rows (message, from-me and tapback events) strictly ascending by
// ROWID after a cursor, long-polling until a row is stored (README "Assistant API", issue 9).
import type { ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { HubStore } from '../store/hub-store.js';
import type { EventFeed } from './event-feed.js';
import { HttpError, sendJson } from './http-io.js';

export interface RowsDeps {
  readonly store: HubStore;
  readonly feed: EventFeed;
  readonly logger: Logger;
  /** The account a request means (its `account` parameter, or the only one). */
  readonly account: (url: URL) => string;
  readonly intParam: (url: URL, name: string, fallback: number, min: number, max: number) => number;
}

/** Cursors ahead of every known row already logged (each logged once). */
const LOGGED_MAX = 1000;

/** The GET /v1/rows handler. @throws HttpError 400 BAD_PARAMETER / BAD_REQUEST for a bad cursor, range or account. */
export function rowsRoute(deps: RowsDeps): (url: URL, res: ServerResponse) => Promise<void> {
  const logged = new Set<string>();
  const answer = (res: ServerResponse, rows: ReadonlyArray<{ rowid: number; event: Record<string, unknown> }>, next: number): void =>
    sendJson(res, 200, { rows: rows.map((r) => r.event), next });

  return async (url, res) => {
    const account = deps.account(url);
    const waitS = deps.intParam(url, 'wait', 0, 0, 60);
    const limit = deps.intParam(url, 'limit', 100, 1, 500);
    const rawAfter = url.searchParams.get('after');
    const { rows } = deps.store;
    const newest = rows.newest(account);
    if (rawAfter === null) return answer(res, [], newest);
    if (!/^-?\d{1,16}$/.test(rawAfter) || !Number.isSafeInteger(Number(rawAfter))) throw new HttpError(400, 'BAD_PARAMETER', 'after must be a whole number (a row id, or -1 for the start of what is retained)');
    let after = Number(rawAfter);
    if (after < 0) {
      const first = rows.fromStart(account, limit);
      if (first.length > 0) return answer(res, first, first[first.length - 1]!.rowid);
      after = newest;
    } else if (after > newest) {
      const key = `${account}\u0000${after}`;
      if (!logged.has(key)) {
        if (logged.size >= LOGGED_MAX) logged.clear();
        logged.add(key);
        deps.logger.warn({ account, after, newest }, 'row feed: cursor beyond every row the hub knows (chat.db replaced?): live from now');
      }
      return answer(res, [], newest);
    }
    const until = Date.now() + waitS * 1000;
    let closed = false;
    res.on('close', () => { closed = true; });
    for (;;) {
      const found = rows.after(account, after, limit);
      if (found.length > 0) return answer(res, found, found[found.length - 1]!.rowid);
      if (Date.now() >= until || closed || deps.feed.closed) return answer(res, [], after);
      await deps.feed.wait(until - Date.now());
    }
  };
}
