// GET /v1/chats and GET /v1/chats/{id}/messages: answered by the Mac over the link (link queries
// `chats` and `history`, at most QUERY_TIMEOUT_MS) when its relay is connected, else (or when it does
// not answer in time) from the hub's own chat table and events; `source` says which.
import type { ServerResponse } from 'node:http';
import { hasCode, RelayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChatFromMac, KnownChat } from '../store/hub-chats.js';
import { attachmentUrl } from '../store/hub-events.js';
import type { HubStore } from '../store/hub-store.js';
import { HttpError, sendJson } from './http-io.js';
import { QUERY_TIMEOUT_MS, type RelayAccess } from './relay-access.js';

export interface ChatsDeps {
  readonly store: HubStore;
  readonly relays: RelayAccess;
  readonly logger: Logger;
  readonly accounts: readonly string[];
  readonly intParam: (url: URL, name: string, fallback: number, min: number, max: number) => number;
}

/** The account named by `?account=`, the only one when the hub serves one relay, or null (several, none named). */
export function accountParam(url: URL, accounts: readonly string[]): string | null {
  const a = url.searchParams.get('account');
  if (a === null) return accounts.length === 1 ? accounts[0]! : null;
  if (!accounts.includes(a)) throw new HttpError(400, 'BAD_REQUEST', `"account" must be one of ${accounts.join(', ')}`);
  return a;
}

/** An ISO 8601 date parameter as Unix ms (null when absent). @throws HttpError 400 BAD_REQUEST naming it. */
function dateParam(url: URL, name: string): number | null {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return null;
  const ms = /^\d{4}-\d\d-\d\d/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) throw new HttpError(400, 'BAD_REQUEST', `${name} must be an ISO 8601 date, e.g. 2026-05-16T15:24:36.123Z`);
  return ms;
}

const isChat = (v: unknown): v is ChatFromMac => {
  const c = v as Record<string, unknown> | null;
  return c !== null && typeof c === 'object' && Number.isSafeInteger(c['id']) && typeof c['guid'] === 'string' && Array.isArray(c['participants']);
};

const publicChat = (c: KnownChat): Record<string, unknown> => ({
  id: c.id, account: c.account, guid: c.guid, identifier: c.identifier, name: c.name, is_group: c.is_group,
  participants: c.participants, service: c.service, last_message_at: c.last_message_at, last_event_at: c.last_event_at,
});

/**
 * The chat handlers (list, a chat's messages) and the chat lookup a send by `chat_id`/`chat_identifier` uses.
 * @throws HttpError 404 UNKNOWN_CHAT, 400 BAD_REQUEST (a date or flag that does not parse, naming it)
 */
export function chatRoutes(deps: ChatsDeps): {
  list: (url: URL, res: ServerResponse) => Promise<void>;
  messages: (id: string, url: URL, res: ServerResponse) => Promise<void>;
  /** The chat with this id or key, asking the Mac when the hub does not know it; null when neither does. */
  resolve: (account: string, by: { id: number } | { key: string }) => Promise<KnownChat | null>;
} {
  const { store, relays, logger } = deps;

  /** Asks the Mac, or returns null (offline, an older relay, no answer in time) after logging why. */
  const ask = async (account: string, q: string, params: Record<string, unknown>): Promise<Record<string, unknown> | null> => {
    if (!relays.connected(account)) return null;
    try {
      return await relays.query(account, q, params, QUERY_TIMEOUT_MS);
    } catch (err) {
      if (hasCode(err, 'QUERY_FAILED') && (err as RelayError).details['relay_code'] === 'UNKNOWN_CHAT') throw err;
      const e = err instanceof RelayError ? err : new RelayError('QUERY_FAILED', String(err));
      if (e.code !== 'QUERY_UNSUPPORTED') logger.warn({ account, q, code: e.code }, `relay query failed, answering from the hub: ${e.message}`);
      return null;
    }
  };

  const macChats = (account: string, result: Record<string, unknown> | null): ChatFromMac[] | null => {
    if (result === null || !Array.isArray(result['chats'])) return null;
    const chats = (result['chats'] as unknown[]).filter(isChat);
    store.chats.merge(account, chats);
    return chats;
  };

  const resolve = async (account: string, by: { id: number } | { key: string }): Promise<KnownChat | null> => {
    const known = 'id' in by ? store.chats.byId(account, by.id) : store.chats.byKey(account, by.key);
    if (known !== null) return known;
    const found = macChats(account, await ask(account, 'chats', by));
    if (found === null || found.length === 0) return null;
    return store.chats.byKey(account, found[0]!.guid);
  };

  const list = async (url: URL, res: ServerResponse): Promise<void> => {
    const limit = deps.intParam(url, 'limit', 20, 1, 1000);
    const account = accountParam(url, deps.accounts);
    const fromMac = account === null ? null : macChats(account, await ask(account, 'chats', { limit }));
    if (fromMac !== null && account !== null) {
      const chats = fromMac.slice(0, limit).map((c) => store.chats.byKey(account, c.guid)).filter((c): c is KnownChat => c !== null);
      return sendJson(res, 200, { chats: chats.map(publicChat), source: 'mac' });
    }
    return sendJson(res, 200, { chats: store.chats.list(limit, account ?? undefined).map(publicChat), source: 'hub' });
  };

  /** Attachment urls for the bytes the hub holds or expects; the relay's own sends named by command (as in the row feed). */
  const hubSide = (account: string, e: Record<string, unknown>): Record<string, unknown> => {
    const list = Array.isArray(e['attachments']) ? (e['attachments'] as Array<Record<string, unknown>>) : [];
    const attachments = list.map((a) => (typeof a['guid'] === 'string' && store.files.incoming(a['guid'], account) !== null ? { ...a, url: attachmentUrl(a['guid']) } : { ...a, url: a['url'] ?? null }));
    const own = e['kind'] === 'from_me' && e['command_id'] === null && typeof e['guid'] === 'string' ? store.rows.commandOf(account, e['guid']) : null;
    return { ...e, attachments, ...(own === null ? {} : { command_id: own }) };
  };

  const messages = async (rawId: string, url: URL, res: ServerResponse): Promise<void> => {
    if (!/^\d{1,15}$/.test(rawId)) throw new HttpError(404, 'UNKNOWN_CHAT', 'a chat id is a whole number (GET /v1/chats)');
    const chatId = Number(rawId);
    const account = accountParam(url, deps.accounts);
    if (account === null) throw new HttpError(400, 'BAD_REQUEST', `"account" is required: one of ${deps.accounts.join(', ')}`);
    const limit = deps.intParam(url, 'limit', 50, 1, 500);
    const start = dateParam(url, 'start');
    const end = dateParam(url, 'end');
    const rawParts = url.searchParams.get('participants');
    const participants = rawParts === null || rawParts.trim() === '' ? null : rawParts.split(',').map((p) => p.trim()).filter((p) => p !== '');
    const rawAtt = url.searchParams.get('attachments');
    if (rawAtt !== null && rawAtt !== 'true' && rawAtt !== 'false') throw new HttpError(400, 'BAD_REQUEST', 'attachments must be true or false');
    const attachments = rawAtt === 'true';
    let result: Record<string, unknown> | null;
    try {
      result = await ask(account, 'history', { chat_id: chatId, limit, start, end, participants, attachments });
    } catch {
      throw new HttpError(404, 'UNKNOWN_CHAT', `the Mac has no chat ${chatId}`);
    }
    if (result !== null && Array.isArray(result['messages'])) {
      const list = (result['messages'] as Array<Record<string, unknown>>).map((e) => hubSide(account, e));
      return sendJson(res, 200, { messages: list, source: 'mac', partial: result['partial'] === true });
    }
    const chat = store.chats.byId(account, chatId);
    if (chat === null) throw new HttpError(404, 'UNKNOWN_CHAT', `no chat ${chatId} is known (GET /v1/chats)`);
    const list = store.rows.history({ account, chatGuid: chat.guid, limit, start, end, participants, attachments }).map((e) => hubSide(account, e));
    return sendJson(res, 200, { messages: list, source: 'hub' });
  };

  return { list, messages, resolve };
}
