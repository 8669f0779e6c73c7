// `chats.list` and `messages.history` (contract §4.1, §4.2): the hub's GET /v1/chats and
// GET /v1/chats/{id}/messages mapped to imsg's shapes; chats.list falls back to the chat cache.
import type { ChatCache } from './chat-cache.js';
import { hubError, HubUnreachable, type HubAnswer, type HubClient } from './hub-client.js';
import { attachmentRefs, toMessage, toReactions, type MessageAttachment } from './message-map.js';
import { optBool, optInt, optIsoDate, optStrings } from './params.js';
import { internal, invalidParams, type RpcError } from './rpc-error.js';
import { materialise } from './attachments.js';

type Json = Record<string, unknown>;

export interface ChatsDeps {
  readonly hub: HubClient;
  readonly cache: ChatCache;
  readonly attachmentsRoot: string;
  /** Aborted when stdin ends: a call still waiting on the hub answers from what it has. */
  readonly closing: AbortSignal;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A hub chat as imsg's Chat (§4.1), or null when it has no integer id. */
function toChat(c: Json): Json | null {
  const id = c['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return null;
  const out: Json = { id };
  const set = (k: string, v: string | undefined): void => { if (v !== undefined) out[k] = v; };
  set('identifier', str(c['identifier']));
  set('guid', str(c['guid']));
  set('name', str(c['name']) ?? '');
  if (str(c['name']) !== undefined) out['display_name'] = c['name'];
  set('service', str(c['service']) ?? (str(c['guid'])?.split(';')[0]));
  set('last_message_at', str(c['last_message_at']) ?? str(c['last_event_at']));
  out['participants'] = Array.isArray(c['participants']) ? (c['participants'] as unknown[]).filter((p) => typeof p === 'string') : [];
  out['is_group'] = c['is_group'] === true;
  return out;
}

/** A hub answer other than 200 as the error the request gets. */
export function hubRefusal(a: HubAnswer, what: string): RpcError {
  const e = hubError(a);
  if (a.status === 400) return invalidParams(e.message ?? `${what}: the hub refused the request`);
  return internal(`${what}: the hub answered ${a.status}${e.code === null ? '' : ` ${e.code}`}${e.message === null ? '' : ` (${e.message})`}`);
}

/** chats.list: from the hub (and into the cache), else from the cache, within the probe's time. */
export async function chatsList(params: Readonly<Json>, deps: ChatsDeps): Promise<Json> {
  const limit = Math.max(1, Math.min(1000, optInt(params, 'limit', 20) ?? 20));
  try {
    const a = await deps.hub.get('/v1/chats', { limit }, { timeoutMs: 4500, signal: deps.closing });
    if (a.status === 200 && Array.isArray(a.body['chats'])) {
      const chats = (a.body['chats'] as Json[]).map(toChat).filter((c): c is Json => c !== null).slice(0, limit);
      deps.cache.merge(chats);
      return { chats };
    }
    if (a.status === 401 || a.status === 403) throw hubRefusal(a, 'chats.list');
  } catch (err) {
    if (!(err instanceof HubUnreachable)) throw err;
  }
  return { chats: deps.cache.read(limit) };
}

/** messages.history: one chat's messages, newest first, each with its `reactions`. */
export async function messagesHistory(params: Readonly<Json>, deps: ChatsDeps): Promise<Json> {
  const chatId = optInt(params, 'chat_id', undefined);
  if (chatId === undefined) throw invalidParams('chat_id is required');
  const limit = Math.max(1, Math.min(500, optInt(params, 'limit', 50) ?? 50));
  const start = optIsoDate(params, 'start');
  const end = optIsoDate(params, 'end');
  const participants = optStrings(params, 'participants');
  const withFiles = optBool(params, 'attachments', false);
  let a: HubAnswer;
  try {
    a = await deps.hub.get(`/v1/chats/${chatId}/messages`, {
      limit, start, end, participants: participants === undefined ? undefined : participants.join(','), attachments: withFiles,
    }, { timeoutMs: 9000, signal: deps.closing });
  } catch (err) {
    if (err instanceof HubUnreachable) throw internal(`messages.history: ${err.message}`);
    throw err;
  }
  if (a.status === 404 && hubError(a).code === 'UNKNOWN_CHAT') throw invalidParams(`unknown chat_id ${chatId}`);
  if (a.status !== 200 || !Array.isArray(a.body['messages'])) throw hubRefusal(a, 'messages.history');
  const messages: Json[] = [];
  for (const event of a.body['messages'] as Json[]) {
    if (event['kind'] !== 'message' && event['kind'] !== 'from_me') continue;
    const files: MessageAttachment[] = [];
    if (withFiles) {
      for (const ref of attachmentRefs(event)) files.push(await materialise(ref, { hub: deps.hub, root: deps.attachmentsRoot, pendingWaitMs: 2000, signal: deps.closing }));
    }
    messages.push({ ...toMessage(event, files), reactions: toReactions(event['reactions']) });
  }
  return { messages };
}
