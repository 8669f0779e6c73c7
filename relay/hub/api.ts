// The assistant API on the hub (README "Assistant API"): send commands (text or files), their status,
// chats, events by long-poll, dead letters, uploads and attachments (api-files.ts); plus /health and
// /metrics. Bearer token on everything under /v1 (and for /health's detail). Every answer carries an
// X-Request-Id; an unexpected failure is a bare 500 INTERNAL whose detail goes to the log.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chunkCount, isUuid, type FileRef } from '../model/files.js';
import { bytesOver, DEFAULT_MAX_ITEM_BYTES } from '../model/wire.js';
import type { HealthSources } from '../health/server.js';
import { serveHealth } from '../health/server.js';
import type { HubStore } from '../store/hub-store.js';
import type { CommandRow } from '../store/hub-commands.js';
import type { EventFeed } from './event-feed.js';
import type { FileVault } from './file-vault.js';
import { fileRoutes } from './api-files.js';
import type { Logger } from '../logger.js';
import { bearerMatches, HttpError, pathSegment, sendFailure, sendJson } from './http-io.js';
import { accountParam, chatRoutes } from './api-chats.js';
import { rowsRoute } from './api-rows.js';
import type { RelayAccess } from './relay-access.js';
import { waitForSend } from './send-wait.js';

export interface ApiDeps {
  readonly token: string;
  readonly store: HubStore;
  readonly accounts: readonly string[];
  readonly feed: EventFeed;
  readonly health: HealthSources;
  /** Where the detail of an internal error goes, with its request id. */
  readonly logger: Logger;
  readonly vault: FileVault;
  /** Largest file accepted by POST /v1/files and POST /v1/messages. */
  readonly maxFileBytes: number;
  /** Largest command (body as JSON, UTF-8) queued for a relay: one larger could not be sent (default 4 MiB, `link.maxItemBytes`). */
  readonly maxItemBytes?: number;
  /** A command was created for `account`: push it to the relay if connected. */
  readonly onCommand: (account: string) => void;
  /** A dead letter was put back in line. */
  readonly onRevive: (hook: string) => void;
  /** The relays' live links (chat listing and history from the Mac, waiting sends). */
  readonly relays: RelayAccess;
  /** Woken when command results are stored (waiting sends); closed at shutdown. */
  readonly results: EventFeed;
}

const SERVICES = ['iMessage', 'SMS', 'RCS', 'any'];
const MAX_TEXT = 100_000;

function publicCommand(c: CommandRow): Record<string, unknown> {
  const file = c.body['file'] as FileRef | undefined;
  return {
    id: c.id, account: c.account, status: c.status, apple_guid: c.apple_guid, error: c.error,
    chat_guid: c.body['chat_guid'] ?? null, handle: c.body['handle'] ?? null, service: c.body['service'] ?? null,
    file: file === undefined ? null : { id: file.id, name: file.name, bytes: file.bytes, sha256: file.sha256, mime_type: file.mime_type },
    created_at: c.created_at, updated_at: c.updated_at,
    rowid: c.row_id, chat_id: c.row_chat_id,
  };
}

/** A send as the waiting POST /v1/messages answers it: the command, and where its row is on the Mac. */
function sentCommand(c: CommandRow, chatId: number | null): Record<string, unknown> {
  const p = publicCommand(c);
  return { ...p, chat_guid: c.row_chat_guid ?? p['chat_guid'], chat_id: c.row_chat_id ?? chatId, service: c.row_service ?? p['service'] };
}

/** The send fields a POST /v1/messages carries, whether as JSON or as form fields. */
const FIELDS: readonly string[] = ['text', 'chat_guid', 'handle', 'service', 'account', 'file_id', 'wait', 'chat_id', 'chat_identifier'];

/** A whole number given as a JSON number or (form field) as digits; undefined when absent. */
function wholeField(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(400, 'BAD_REQUEST', `"${name}" must be a whole number from ${min} to ${max}`);
  return n;
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new HttpError(400, 'BAD_PARAMETER', `${name} must be a whole number from ${min} to ${max}`);
  return v;
}

export function createApiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // /health without the token shows states and reasons only; with it, the full report.
    if (serveHealth(req, res, { ...deps.health, authorized: (r) => bearerMatches(r, deps.token) })) return;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://hub.invalid');
    } catch {
      throw new HttpError(400, 'BAD_PATH', 'the request target is not a valid path');
    }
    if (!url.pathname.startsWith('/v1/')) throw new HttpError(404, 'NOT_FOUND', `no such path ${url.pathname}`);
    if (!bearerMatches(req, deps.token)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong bearer token');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const method = req.method ?? 'GET';
    if (parts[1] === 'messages' && parts.length === 2) {
      if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST /v1/messages');
      return createMessage(req, res);
    }
    if (parts[1] === 'messages' && parts.length === 3 && method === 'GET') {
      const c = deps.store.commands.get(pathSegment(parts[2]!));
      if (c === null || c.body['kind'] !== 'send') throw new HttpError(404, 'NOT_FOUND', 'no message command with that id');
      return sendJson(res, 200, publicCommand(c));
    }
    if (parts[1] === 'files' && parts.length === 2) {
      if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST /v1/files?name=<file name>');
      return uploadFile(req, url, res);
    }
    if (parts[1] === 'attachments' && parts.length === 3 && (method === 'GET' || method === 'HEAD')) {
      return serveAttachment(pathSegment(parts[2]!), url, method, res);
    }
    if (parts[1] === 'chats' && parts.length === 2 && method === 'GET') return chats.list(url, res);
    if (parts[1] === 'chats' && parts.length === 4 && parts[3] === 'messages' && method === 'GET') return chats.messages(pathSegment(parts[2]!), url, res);
    if (parts[1] === 'rows' && parts.length === 2 && method === 'GET') return listRows(url, res);
    if (parts[1] === 'events' && parts.length === 2 && method === 'GET') return listEvents(url, res);
    if (parts[1] === 'dead-letters' && parts.length === 2 && method === 'GET') {
      return sendJson(res, 200, { dead_letters: deps.store.deliveries.dead().map((d) => ({ hook: d.hook, seq: d.event_seq, id: d.event_id, account: d.account, attempts: d.attempts, last_error: d.last_error })) });
    }
    if (parts[1] === 'dead-letters' && parts.length === 5 && parts[4] === 'retry' && method === 'POST') {
      const hook = pathSegment(parts[2]!);
      if (!deps.store.deliveries.revive(hook, Number(parts[3]))) throw new HttpError(404, 'NOT_FOUND', 'no such dead letter');
      deps.onRevive(hook);
      return sendJson(res, 202, { retrying: true });
    }
    throw new HttpError(404, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);
  };

  const chats = chatRoutes({ store: deps.store, relays: deps.relays, logger: deps.logger, accounts: deps.accounts, intParam });
  const listRows = rowsRoute({
    store: deps.store, feed: deps.feed, logger: deps.logger, intParam,
    account: (url) => accountParam(url, deps.accounts) ?? (() => { throw new HttpError(400, 'BAD_REQUEST', `"account" is required: one of ${deps.accounts.join(', ')}`); })(),
  });
  const files = fileRoutes(deps.store.files, deps.vault, deps.maxFileBytes);
  const uploadFile = files.upload;
  const serveAttachment = files.serveAttachment;

  const createMessage = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { fields: body, upload } = await files.readSend(req, FIELDS);
    let waiting: { account: string; ids: string[]; ms: number; chatId: number | null; headers: Record<string, string> };
    try {
      const text = body['text'] === '' && upload !== null ? undefined : body['text'];
      let file = upload;
      if (body['file_id'] !== undefined) {
        if (file !== null) throw new HttpError(400, 'BAD_REQUEST', 'give either a "file" part or "file_id", not both');
        if (!isUuid(body['file_id'])) throw new HttpError(400, 'BAD_REQUEST', '"file_id" must be the id POST /v1/files returned');
        file = deps.store.files.upload(body['file_id'].toLowerCase());
        if (file === null || deps.vault.uploaded(file.guid) === null) throw new HttpError(404, 'FILE_NOT_FOUND', 'no uploaded file with that id (uploads are kept for the retention period)');
      }
      if (text === undefined && file === null) throw new HttpError(400, 'BAD_REQUEST', 'give "text", a file, or both');
      if (text !== undefined && (typeof text !== 'string' || text.length === 0)) throw new HttpError(400, 'BAD_REQUEST', '"text" must be a non-empty string');
      if (typeof text === 'string' && text.length > MAX_TEXT) throw new HttpError(400, 'BAD_REQUEST', `"text" is longer than ${MAX_TEXT} characters`);
      let chatGuid = body['chat_guid'];
      const handle = body['handle'];
      const waitS = wholeField(body['wait'], 'wait', 1, 180);
      const chatId = wholeField(body['chat_id'], 'chat_id', 0, Number.MAX_SAFE_INTEGER);
      const chatIdentifier = body['chat_identifier'];
      if (chatIdentifier !== undefined && (typeof chatIdentifier !== 'string' || chatIdentifier.trim() === '')) throw new HttpError(400, 'BAD_REQUEST', '"chat_identifier" must be a chat identifier from GET /v1/chats');
      if ([chatGuid, handle, chatId, chatIdentifier].filter((t) => t !== undefined).length !== 1) {
        throw new HttpError(400, 'BAD_REQUEST', 'give exactly one of "chat_guid", "chat_id" or "chat_identifier" (a chat from GET /v1/chats) or "handle" (with "service") for a new DM');
      }
      if (chatGuid !== undefined && (typeof chatGuid !== 'string' || !/^[^;]+;[-+];.+$/.test(chatGuid))) throw new HttpError(400, 'BAD_REQUEST', '"chat_guid" must look like "iMessage;-;+15551234567"');
      if (handle !== undefined && (typeof handle !== 'string' || handle.trim() === '')) throw new HttpError(400, 'BAD_REQUEST', '"handle" must be a phone number or e-mail address');
      const service = body['service'] ?? (handle !== undefined ? 'iMessage' : null);
      if (service !== null && (typeof service !== 'string' || !SERVICES.includes(service))) throw new HttpError(400, 'BAD_REQUEST', `"service" must be one of ${SERVICES.join(', ')}`);
      let account = body['account'];
      if (account === undefined) {
        if (deps.accounts.length !== 1) throw new HttpError(400, 'BAD_REQUEST', `"account" is required: one of ${deps.accounts.join(', ')}`);
        account = deps.accounts[0];
      }
      if (typeof account !== 'string' || !deps.accounts.includes(account)) throw new HttpError(400, 'BAD_REQUEST', `"account" must be one of ${deps.accounts.join(', ')}`);
      // A waiting send needs its relay now: offline, nothing is queued (certainly not sent).
      if (waitS !== undefined && !deps.relays.connected(account)) throw new HttpError(503, 'RELAY_OFFLINE', `the relay of ${account} is not connected: nothing was queued`);
      let resolvedChatId: number | null = null;
      if (chatId !== undefined || chatIdentifier !== undefined) {
        const chat = await chats.resolve(account, chatId !== undefined ? { id: chatId } : { key: chatIdentifier as string }).catch(() => null);
        if (chat === null) throw new HttpError(404, 'UNKNOWN_CHAT', chatId !== undefined ? `unknown chat_id ${chatId}` : 'unknown chat_identifier');
        chatGuid = chat.guid;
        resolvedChatId = chat.id;
      }
      const key = req.headers['idempotency-key'];
      // No control characters: the store derives the keys of a call's later parts with U+001F, which no client key can hold.
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 255 || /[\u0000-\u001f\u007f]/.test(key))) {
        throw new HttpError(400, 'BAD_REQUEST', 'Idempotency-Key must be 1 to 255 characters, none of them control characters');
      }
      const to = { chat_guid: chatGuid ?? null, handle: handle ?? null, service };
      // Messages sends a file and a text as two messages: the file first, then the text.
      const parts: Array<{ body: Record<string, unknown>; chunks?: { fileId: string; count: number } }> = [];
      if (file !== null) {
        const ref: FileRef = { id: file.guid, name: file.name ?? 'file', bytes: file.bytes ?? 0, sha256: file.sha256 ?? '', mime_type: file.mime_type, chunks: chunkCount(file.bytes ?? 0) };
        parts.push({ body: { kind: 'send', text: null, ...to, file: ref }, chunks: { fileId: ref.id, count: ref.chunks } });
      }
      if (typeof text === 'string') parts.push({ body: { kind: 'send', text, ...to } });
      const maxItemBytes = deps.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
      for (const part of parts) {
        const bytes = bytesOver(JSON.stringify(part.body), maxItemBytes);
        if (bytes !== null) throw new HttpError(413, 'COMMAND_TOO_LARGE', `the command would be ${bytes} bytes, over the link's limit of ${maxItemBytes} (link.maxItemBytes)`);
      }
      const { commands, created } = deps.store.commands.createSends(account, parts, key ?? null);
      if (created) deps.onCommand(account);
      else if (upload !== null) deps.vault.removeUpload(upload.guid);
      const replayed: Record<string, string> = created ? {} : { 'idempotent-replayed': 'true' };
      if (waitS !== undefined) {
        waiting = { account, ids: commands.map((c) => c.id), ms: waitS * 1000, chatId: resolvedChatId, headers: replayed };
      } else {
        const [first, second] = commands.map(publicCommand);
        return sendJson(res, 202, second === undefined ? first : { ...first, followed_by: second }, replayed);
      }
    } catch (err) {
      if (upload !== null) deps.vault.removeUpload(upload.guid);
      throw err;
    }
    // Queued: from here the upload belongs to the commands, whatever the wait ends with.
    const out = await waitForSend({ store: deps.store, results: deps.results, sentUpTo: (a) => deps.relays.sentUpTo(a) }, waiting.account, waiting.ids, waiting.ms, res);
    if (!out.ok) throw new HttpError(out.status, out.code, out.message);
    const [a, b] = out.commands.map((c) => sentCommand(c, waiting.chatId));
    sendJson(res, 200, b === undefined ? a : { ...a, followed_by: b }, waiting.headers);
  };

  const listEvents = async (url: URL, res: ServerResponse): Promise<void> => {
    const after = intParam(url, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const waitS = intParam(url, 'wait', 0, 0, 60);
    const limit = intParam(url, 'limit', 100, 1, 1000);
    const account = url.searchParams.get('account') ?? undefined;
    const until = Date.now() + waitS * 1000;
    let closed = false;
    res.on('close', () => { closed = true; });
    for (;;) {
      const events = deps.store.events.after(after, limit, account);
      if (events.length > 0 || Date.now() >= until || closed || deps.feed.closed) {
        const next = events.length > 0 ? events[events.length - 1]!.seq : after;
        return sendJson(res, 200, { events: events.map((e) => ({ seq: e.seq, id: e.id, account: e.account, event: e.event })), next });
      }
      await deps.feed.wait(until - Date.now());
    }
  };

  return (req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    route(req, res).catch((err: unknown) => sendFailure(req, res, err, requestId, deps.logger));
  };
}
