// The file routes of the assistant API: uploads (POST /v1/files, or a multipart `file` part of
// POST /v1/messages, streamed to the vault with the size limit enforced as the bytes arrive) and
// incoming attachments' bytes (GET /v1/attachments/{guid}).
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayError } from '../errors.js';
import { safeFileName } from '../model/files.js';
import type { FileRow, HubFiles } from '../store/hub-files.js';
import type { FileVault } from './file-vault.js';
import { HttpError, readJson, sendJson } from './http-io.js';
import { fieldText, multipartBoundary, readMultipart } from './multipart.js';

function publicFile(f: FileRow): Record<string, unknown> {
  return { id: f.guid, name: f.name, bytes: f.bytes, sha256: f.sha256, mime_type: f.mime_type, created_at: new Date(f.created_at).toISOString() };
}

const MIME = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,128}$/i;
const mimeOf = (type: string | null | undefined): string | null => {
  const t = (type ?? '').split(';')[0]!.trim().toLowerCase();
  return MIME.test(t) && t !== 'application/octet-stream' ? t : null;
};

/**
 * Headers for a file's bytes built from metadata a relay supplied (not trusted): its type only if it
 * is a plain `type/subtype` (else application/octet-stream), never sniffed, and always a download
 * named by its made-safe name: an ASCII `filename` and the exact one in RFC 6266 `filename*`.
 */
export function downloadHeaders(name: string | null, mimeType: string | null): Record<string, string> {
  const type = (mimeType ?? '').trim().toLowerCase();
  const safe = safeFileName(name ?? 'attachment');
  const ascii = safe.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const star = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return {
    'content-type': MIME.test(type) ? type : 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${star}`,
  };
}

/** The handlers; `readSend` also serves POST /v1/messages (its fields, and a file part saved as an upload). */
export function fileRoutes(files: HubFiles, vault: FileVault, maxFileBytes: number) {
  /** Streams a file into the vault; the size limit is enforced as the bytes arrive. */
  const saveFile = async (source: AsyncIterable<Buffer>, name: string, type: string | null): Promise<FileRow> => {
    try {
      const saved = await vault.save(source, maxFileBytes);
      return files.addUpload(saved.id, { name: safeFileName(name), mime_type: mimeOf(type), bytes: saved.bytes, sha256: saved.sha256 });
    } catch (err) {
      if (err instanceof RelayError && err.code === 'FILE_TOO_LARGE') throw new HttpError(413, 'FILE_TOO_LARGE', `the file is larger than ${maxFileBytes} bytes`);
      if (err instanceof RelayError && err.code === 'FILE_EMPTY') throw new HttpError(400, 'FILE_EMPTY', 'the file is empty');
      throw err;
    }
  };

  const uploadFile = async (req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> => {
    const name = url.searchParams.get('name') ?? req.headers['x-file-name'];
    if (typeof name !== 'string' || name.trim() === '') throw new HttpError(400, 'BAD_REQUEST', 'name the file: POST /v1/files?name=photo.jpeg');
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxFileBytes) throw new HttpError(413, 'FILE_TOO_LARGE', `the file is larger than ${maxFileBytes} bytes`);
    // The request's own iterator would destroy the socket when the limit stops the read: the 413 must get through.
    const body = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
    sendJson(res, 201, publicFile(await saveFile(body, name, req.headers['content-type'] ?? null)));
  };

  const serveAttachment = (guid: string, url: URL, method: string, res: ServerResponse): void => {
    const f = files.incoming(guid, url.searchParams.get('account') ?? undefined);
    if (f === null) throw new HttpError(404, 'NOT_FOUND', 'no attachment with that guid');
    if (f.state === 'pending') {
      res.setHeader('retry-after', '2');
      throw new HttpError(503, 'ATTACHMENT_PENDING', 'the relay has not sent this attachment yet; try again shortly');
    }
    if (f.state !== 'ready') throw new HttpError(410, `ATTACHMENT_${f.state.toUpperCase()}`, `this attachment's bytes are not available: ${f.error ?? f.state}`);
    const path = f.upload_id !== null ? vault.uploaded(f.upload_id) : vault.incomingPath(f.account, f.guid);
    if (path === null) throw new HttpError(410, 'ATTACHMENT_EXPIRED', 'the file this attachment was sent from is no longer kept');
    res.writeHead(200, {
      ...downloadHeaders(f.name, f.mime_type), 'content-length': String(f.bytes ?? 0),
      etag: `"${f.sha256 ?? ''}"`, 'x-content-sha256': f.sha256 ?? '', 'cache-control': 'private, max-age=86400',
    });
    if (method === 'HEAD') { res.end(); return; }
    createReadStream(path).on('error', () => res.destroy()).pipe(res);
  };

  /** Reads POST /v1/messages as JSON or as multipart/form-data (fields plus a `file` part). */
  const readSend = async (req: IncomingMessage, known: readonly string[]): Promise<{ fields: Record<string, unknown>; upload: FileRow | null }> => {
    const boundary = multipartBoundary(req.headers['content-type']);
    if (boundary === null) return { fields: await readJson(req, 1024 * 1024), upload: null };
    const fields: Record<string, unknown> = {};
    let upload: FileRow | null = null;
    try {
      for await (const part of readMultipart(req, boundary)) {
        if (part.name === 'file' && part.filename !== null) {
          if (upload !== null) throw new HttpError(400, 'BAD_REQUEST', 'one file per message');
          upload = await saveFile(part.body, part.filename, part.contentType);
        } else if (known.includes(part.name)) {
          fields[part.name] = await fieldText(part, 512 * 1024);
        } else {
          throw new HttpError(400, 'BAD_REQUEST', `unknown form field "${part.name}" (expected ${known.join(', ')} and a "file" part)`);
        }
      }
    } catch (err) {
      if (upload !== null) vault.removeUpload(upload.guid);
      throw err;
    }
    return { fields, upload };
  };

  return { upload: uploadFile, serveAttachment, readSend };
}
