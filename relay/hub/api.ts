// The assistant API on the hub (README "Assistant API"): send commands, their status, chats, events
// by long-poll, dead letters; plus /health and /metrics. Bearer token on everything under /v1.
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayError } from '../errors.js';
import { chunkCount, isUuid, safeFileName, type FileRef } from '../model/files.js';
import type { HealthSources } from '../health/server.js';
import { serveHealth } from '../health/server.js';
import type { HubStore } from '../store/hub-store.js';
import type { CommandRow } from '../store/hub-commands.js';
import type { FileRow } from '../store/hub-files.js';
import type { EventFeed } from './event-feed.js';
import type { FileVault } from './file-vault.js';
import { bearerMatches, HttpError, readJson, sendError, sendJson } from './http-io.js';
import { fieldText, multipartBoundary, readMultipart } from './multipart.js';

export interface ApiDeps {
  readonly token: string;
  readonly store: HubStore;
  readonly accounts: readonly string[];
  readonly feed: EventFeed;
  readonly health: HealthSources;
  readonly vault: FileVault;
  /** Largest file accepted by POST /v1/files and POST /v1/messages. */
  readonly maxFileBytes: number;
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

function publicFile(f: FileRow): Record<string, unknown> {
  return { id: f.guid, name: f.name, bytes: f.bytes, sha256: f.sha256, mime_type: f.mime_type, created_at: new Date(f.created_at).toISOString() };
}

const MIME = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;
const mimeOf = (type: string | null | undefined): string | null => {
  const t = (type ?? '').split(';')[0]!.trim().toLowerCase();
  return MIME.test(t) && t !== 'application/octet-stream' ? t : null;
};
/** The send fields a POST /v1/messages carries, whether as JSON or as form fields. */
const FIELDS = ['text', 'chat_guid', 'handle', 'service', 'account', 'file_id'] as const;

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new HttpError(400, 'BAD_PARAMETER', `${name} must be a whole number from ${min} to ${max}`);
  return v;
}

export function createApiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (serveHealth(req, res, deps.health)) return;
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    if (!url.pathname.startsWith('/v1/')) throw new HttpError(404, 'NOT_FOUND', `no such path ${url.pathname}`);
    if (!bearerMatches(req, deps.token)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong bearer token');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const method = req.method ?? 'GET';
    if (parts[1] === 'messages' && parts.length === 2) {
      if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST /v1/messages');
      return createMessage(req, res);
    }
    if (parts[1] === 'messages' && parts.length === 3 && method === 'GET') {
      const c = deps.store.commands.get(decodeURIComponent(parts[2]!));
      if (c === null || c.body['kind'] !== 'send') throw new HttpError(404, 'NOT_FOUND', 'no message command with that id');
      return sendJson(res, 200, publicCommand(c));
    }
    if (parts[1] === 'files' && parts.length === 2) {
      if (method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST /v1/files?name=<file name>');
      return uploadFile(req, url, res);
    }
    if (parts[1] === 'attachments' && parts.length === 3 && (method === 'GET' || method === 'HEAD')) {
      return serveAttachment(decodeURIComponent(parts[2]!), url, method, res);
    }
    if (parts[1] === 'chats' && parts.length === 2 && method === 'GET') {
      return sendJson(res, 200, { chats: deps.store.events.chats(intParam(url, 'limit', 500, 1, 5000)) });
    }
    if (parts[1] === 'events' && parts.length === 2 && method === 'GET') return listEvents(url, res);
    if (parts[1] === 'dead-letters' && parts.length === 2 && method === 'GET') {
      return sendJson(res, 200, { dead_letters: deps.store.deliveries.dead().map((d) => ({ hook: d.hook, seq: d.event_seq, id: d.event_id, account: d.account, attempts: d.attempts, last_error: d.last_error })) });
    }
    if (parts[1] === 'dead-letters' && parts.length === 5 && parts[4] === 'retry' && method === 'POST') {
      const hook = decodeURIComponent(parts[2]!);
      if (!deps.store.deliveries.revive(hook, Number(parts[3]))) throw new HttpError(404, 'NOT_FOUND', 'no such dead letter');
      deps.onRevive(hook);
      return sendJson(res, 202, { retrying: true });
    }
    throw new HttpError(404, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);
  };

  /** Streams a file into the vault; the size limit is enforced as the bytes arrive. */
  const saveFile = async (source: AsyncIterable<Buffer>, name: string, type: string | null): Promise<FileRow> => {
    try {
      const saved = await deps.vault.save(source, deps.maxFileBytes);
      return deps.store.files.addUpload(saved.id, { name: safeFileName(name), mime_type: mimeOf(type), bytes: saved.bytes, sha256: saved.sha256 });
    } catch (err) {
      if (err instanceof RelayError && err.code === 'FILE_TOO_LARGE') throw new HttpError(413, 'FILE_TOO_LARGE', `the file is larger than ${deps.maxFileBytes} bytes`);
      if (err instanceof RelayError && err.code === 'FILE_EMPTY') throw new HttpError(400, 'FILE_EMPTY', 'the file is empty');
      throw err;
    }
  };

  const uploadFile = async (req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> => {
    const name = url.searchParams.get('name') ?? req.headers['x-file-name'];
    if (typeof name !== 'string' || name.trim() === '') throw new HttpError(400, 'BAD_REQUEST', 'name the file: POST /v1/files?name=photo.jpeg');
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > deps.maxFileBytes) throw new HttpError(413, 'FILE_TOO_LARGE', `the file is larger than ${deps.maxFileBytes} bytes`);
    sendJson(res, 201, publicFile(await saveFile(req, name, req.headers['content-type'] ?? null)));
  };

  const serveAttachment = (guid: string, url: URL, method: string, res: ServerResponse): void => {
    const f = deps.store.files.incoming(guid, url.searchParams.get('account') ?? undefined);
    if (f === null) throw new HttpError(404, 'NOT_FOUND', 'no attachment with that guid');
    if (f.state === 'pending') {
      res.setHeader('retry-after', '2');
      throw new HttpError(503, 'ATTACHMENT_PENDING', 'the relay has not sent this attachment yet; try again shortly');
    }
    if (f.state !== 'ready') throw new HttpError(410, `ATTACHMENT_${f.state.toUpperCase()}`, `this attachment's bytes are not available: ${f.error ?? f.state}`);
    const path = f.upload_id !== null ? deps.vault.uploaded(f.upload_id) : deps.vault.incomingPath(f.account, f.guid);
    if (path === null) throw new HttpError(410, 'ATTACHMENT_EXPIRED', 'the file this attachment was sent from is no longer kept');
    const name = f.name ?? 'attachment';
    res.writeHead(200, {
      'content-type': f.mime_type ?? 'application/octet-stream', 'content-length': String(f.bytes ?? 0),
      'content-disposition': `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      etag: `"${f.sha256 ?? ''}"`, 'x-content-sha256': f.sha256 ?? '', 'cache-control': 'private, max-age=86400',
    });
    if (method === 'HEAD') { res.end(); return; }
    createReadStream(path).on('error', () => res.destroy()).pipe(res);
  };

  /** Reads POST /v1/messages as JSON or as multipart/form-data (fields plus a `file` part). */
  const readSend = async (req: IncomingMessage): Promise<{ fields: Record<string, unknown>; upload: FileRow | null }> => {
    const boundary = multipartBoundary(req.headers['content-type']);
    if (boundary === null) return { fields: await readJson(req, 1024 * 1024), upload: null };
    const fields: Record<string, unknown> = {};
    let upload: FileRow | null = null;
    try {
      for await (const part of readMultipart(req, boundary)) {
        if (part.name === 'file' && part.filename !== null) {
          if (upload !== null) throw new HttpError(400, 'BAD_REQUEST', 'one file per message');
          upload = await saveFile(part.body, part.filename, part.contentType);
        } else if ((FIELDS as readonly string[]).includes(part.name)) {
          fields[part.name] = await fieldText(part, 512 * 1024);
        } else {
          throw new HttpError(400, 'BAD_REQUEST', `unknown form field "${part.name}" (expected ${FIELDS.join(', ')} and a "file" part)`);
        }
      }
    } catch (err) {
      if (upload !== null) deps.vault.removeUpload(upload.guid);
      throw err;
    }
    return { fields, upload };
  };

  const createMessage = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { fields: body, upload } = await readSend(req);
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
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 255)) throw new HttpError(400, 'BAD_REQUEST', 'Idempotency-Key must be 1 to 255 characters');
      const to = { chat_guid: chatGuid ?? null, handle: handle ?? null, service };
      // Messages sends a file and a text as two messages: the file first, then the text.
      const parts: Array<{ body: Record<string, unknown>; chunks?: { fileId: string; count: number } }> = [];
      if (file !== null) {
        const ref: FileRef = { id: file.guid, name: file.name ?? 'file', bytes: file.bytes ?? 0, sha256: file.sha256 ?? '', mime_type: file.mime_type, chunks: chunkCount(file.bytes ?? 0) };
        parts.push({ body: { kind: 'send', text: null, ...to, file: ref }, chunks: { fileId: ref.id, count: ref.chunks } });
      }
      if (typeof text === 'string') parts.push({ body: { kind: 'send', text, ...to } });
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
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err);
      sendError(res, new HttpError(500, 'INTERNAL', (err as Error).message));
    });
  };
}
