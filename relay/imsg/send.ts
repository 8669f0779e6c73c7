// `send` (contract §4.5, §8.2): checks the params as imsg does, reads a file's bytes before anything
// else and uploads them (POST /v1/files), then POST /v1/messages with `wait`, which answers once the
// Mac has the row: ok, id (= ROWID), guid (= the guid the watch shows later), chat_guid, service.
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import { hubError, HubUnreachable, type HubAnswer, type HubClient } from './hub-client.js';
import { optInt, optString } from './params.js';
import { INTERNAL_ERROR, internal, invalidParams, NOT_STARTED, RpcError } from './rpc-error.js';

type Json = Record<string, unknown>;

export interface SendDeps {
  readonly hub: HubClient;
  readonly waitSeconds: number;
}

const SERVICES: Record<string, string> = { auto: 'any', imessage: 'iMessage', sms: 'SMS' };
const TRANSPORTS = ['auto', 'bridge', 'applescript'];

/** Certainly not sent: OpenClaw may retry safely (§3.4). */
const notStarted = (why: string): RpcError => new RpcError(INTERNAL_ERROR, NOT_STARTED, `send not started: ${why}`);

/** The hub's target fields for the request's one target. */
function target(p: Readonly<Json>, service: string | undefined): Json {
  const to = optString(p, 'to');
  const chatId = optInt(p, 'chat_id', undefined);
  const chatGuid = optString(p, 'chat_guid');
  const chatIdentifier = optString(p, 'chat_identifier');
  const chats = [chatId, chatGuid, chatIdentifier].filter((x) => x !== undefined && x !== '').length;
  if (to !== undefined && to !== '' && chats > 0) throw invalidParams('use to or chat_*; not both');
  if (chats > 1) throw invalidParams('give one of chat_id, chat_guid, chat_identifier');
  if (chatId !== undefined) return { chat_id: chatId };
  if (chatGuid !== undefined && chatGuid !== '') return { chat_guid: chatGuid };
  if (chatIdentifier !== undefined && chatIdentifier !== '') return { chat_identifier: chatIdentifier };
  if (to === undefined || to.trim() === '') throw invalidParams('to is required for direct sends');
  return { handle: to.trim(), service: SERVICES[service ?? 'auto'] };
}

/** A non-200 answer of POST /v1/messages as the request's error. */
function refusal(a: HubAnswer, targetDesc: string): RpcError {
  const e = hubError(a);
  const why = e.message ?? `the hub answered ${a.status}`;
  if (e.code === 'RELAY_OFFLINE' || e.code === 'SEND_NOT_STARTED') return notStarted(why);
  if (e.code === 'UNKNOWN_CHAT') return invalidParams(`unknown ${targetDesc}`);
  if (a.status === 400 || a.status === 413) return invalidParams(why);
  if (e.code === 'SEND_FAILED') return internal(`send failed on the Mac: ${why}`);
  if (e.code === 'SEND_UNCONFIRMED') return internal(`the Mac took the send but has not confirmed it; it may have been sent (${why})`);
  return internal(`send: the hub answered ${a.status}${e.code === null ? '' : ` ${e.code}`} (${why})`);
}

/** Uploads the file's bytes (read now: OpenClaw deletes the file when send returns). Returns its file_id. */
async function upload(hub: HubClient, file: string): Promise<string> {
  if (!isAbsolute(file)) throw invalidParams('file must be an absolute path');
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw invalidParams(`cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let a: HubAnswer;
  try {
    a = await hub.post('/v1/files', { name: basename(file) }, bytes, { timeoutMs: 60_000 });
  } catch (err) {
    if (err instanceof HubUnreachable) throw notStarted(err.message);
    throw err;
  }
  if (a.status !== 201 || typeof a.body['id'] !== 'string') {
    const e = hubError(a);
    if (a.status === 413) throw invalidParams(e.message ?? 'file too large for the hub');
    throw notStarted(`the hub refused the file (${a.status}${e.code === null ? '' : ` ${e.code}`})`);
  }
  return a.body['id'];
}

/** send: the answer once the Mac has made the row, or an error saying whether anything left. */
export async function send(p: Readonly<Json>, deps: SendDeps): Promise<Json> {
  const text = optString(p, 'text') ?? '';
  const file = optString(p, 'file');
  const service = optString(p, 'service');
  if (service !== undefined && SERVICES[service.toLowerCase()] === undefined) throw invalidParams('service must be auto, imessage or sms');
  const transport = optString(p, 'transport');
  if (transport !== undefined && !TRANSPORTS.includes(transport)) throw invalidParams('transport must be auto, bridge or applescript');
  optString(p, 'reply_to'); // threading needs the private bridge: ignored (§4.5 allows it), as is formatting
  const to = target(p, service?.toLowerCase());
  if (text === '' && (file === undefined || file === '')) throw invalidParams('text or file is required');
  const fileId = file === undefined || file === '' ? undefined : await upload(deps.hub, file);
  const body: Json = { ...to, wait: deps.waitSeconds };
  if (text !== '') body['text'] = text;
  if (fileId !== undefined) body['file_id'] = fileId;
  let a: HubAnswer;
  try {
    a = await deps.hub.post('/v1/messages', {}, body, { timeoutMs: (deps.waitSeconds + 8) * 1000 });
  } catch (err) {
    if (err instanceof HubUnreachable) {
      if (!err.reached) throw notStarted(err.message);
      throw internal(`no answer from the hub; the message may have been sent (${err.message})`);
    }
    throw err;
  }
  const desc = 'chat_id' in to ? `chat_id ${String(to['chat_id'])}` : 'chat_guid' in to ? `chat_guid ${String(to['chat_guid'])}` : 'chat_identifier' in to ? `chat_identifier ${String(to['chat_identifier'])}` : 'handle';
  if (a.status !== 200) throw refusal(a, desc);
  const last = (typeof a.body['followed_by'] === 'object' && a.body['followed_by'] !== null ? a.body['followed_by'] : a.body) as Json;
  const out: Json = { ok: true };
  if (typeof last['rowid'] === 'number') out['id'] = last['rowid'];
  if (typeof last['apple_guid'] === 'string' && last['apple_guid'] !== '') out['guid'] = last['apple_guid'];
  const chatGuid = last['chat_guid'] ?? a.body['chat_guid'];
  if (typeof chatGuid === 'string' && chatGuid !== '') out['chat_guid'] = chatGuid;
  const svc = last['service'] ?? a.body['service'];
  if (typeof svc === 'string' && svc !== '' && svc !== 'any') out['service'] = svc;
  if (typeof out['guid'] === 'string') out['message_id'] = out['guid'];
  return out;
}
