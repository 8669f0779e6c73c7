// The assistant API on the hub (README "Assistant API"): send commands (text or files), their status,
// chats, events by long-poll, dead letters, uploads and attachments (api-files.ts); plus /health and
// /metrics. Bearer token on everything under /v1 but its OpenAPI document (and for /health's detail). Every answer carries an
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
import { serveOpenApi } from './openapi-doc.js';

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
  };
}

/** The send fields a POST /v1/messages carries, whether as JSON or as form fields. */
const FIELDS: readonly string[] = ['text', 'chat_guid', 'handle', 'service', 'account', 'file_id'];

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
    // The contract itself needs no token (a client reads it before it has one).
    if (url.pathname === '/v1/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) return serveOpenApi(req, res);
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
    if (parts[1] === 'chats' && parts.length === 2 && method === 'GET') {
      return sendJson(res, 200, { chats: deps.store.events.chats(intParam(url, 'limit', 500, 1, 5000)) });
    }
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

  const files = fileRoutes(deps.store.files, deps.vault, deps.maxFileBytes);
  const uploadFile = files.upload;
  const serveAttachment = files.serveAttachment;

  const createMessage = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { fields: body, upload } = await files.readSend(req, FIELDS);
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
      const chatGuid = body['chat_guid'];
      const handle = body['handle'];
      if ((chatGuid === undefined) === (handle === undefined)) throw new HttpError(400, 'BAD_REQUEST', 'give exactly one of "chat_guid" (a chat from GET /v1/chats) or "handle" (with "service") for a new DM');
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
      const [first, second] = commands.map(publicCommand);
      sendJson(res, 202, second === undefined ? first : { ...first, followed_by: second }, created ? {} : { 'idempotent-replayed': 'true' });
    } catch (err) {
      if (upload !== null) deps.vault.removeUpload(upload.guid);
      throw err;
    }
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
      if (events.length > 0 || Date.now() >= until || closed) {
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
