// Small HTTP helpers for the hub's API: JSON answers with stable error codes (an unexpected failure
// is a bare INTERNAL with a request id, its detail only in the log), bounded JSON bodies, path
// segments decoded without throwing, and the constant-time bearer token check.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Answers a failed request: an HttpError with its status, code and message; anything else as
 * 500 `INTERNAL` with the message "internal error" (no path, no SQLite text), its detail logged
 * with the request id. A request whose body was not read to its end (a 401, or a refusal before or
 * during an upload) is answered at once with `Connection: close`, and the connection closes once the
 * client has stopped sending or after {@link LINGER_MS} (see {@link answerUnread}).
 */
export function sendFailure(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string, logger: Logger): void {
  const known = err instanceof HttpError ? err : null;
  if (known === null) {
    const e = err as { code?: unknown; message?: unknown; stack?: unknown };
    logger.error({ request_id: requestId, method: req.method, path: (req.url ?? '').split('?')[0]!.slice(0, 200),
      code: typeof e?.code === 'string' ? e.code : null, err: String(e?.message ?? err), stack: typeof e?.stack === 'string' ? e.stack : undefined },
    'API request failed: internal error');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = known?.status ?? 500;
  const headers: Record<string, string> = {};
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="imessage-relay"';
  const body = { error: { code: known?.code ?? 'INTERNAL', message: known?.message ?? 'internal error', request_id: requestId } };
  if (req.complete) sendJson(res, status, body, headers);
  else answerUnread(req, res, status, body, headers);
}

/** How long a refused request's unread body is still read (and dropped) after the answer. */
export const LINGER_MS = 1000;

/**
 * Answers a request whose body is still arriving, without reading it into memory, and closes the
 * connection without resetting it under a client that is still sending: the whole answer is written
 * at once (a client reads it as soon as it arrives), then what the client still sends is read and
 * dropped until its body ends or {@link LINGER_MS} pass, and only then is the connection closed.
 * Closing at once would leave the client's bytes unread, and the reset this causes can reach a
 * client that is still writing its body before it has read the answer: it would see EPIPE or
 * ECONNRESET instead of the 413 or 401. Go's net/http and nginx (lingering_close) do the same.
 */
function answerUnread(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers,
    'content-length': String(Buffer.byteLength(text)), connection: 'close',
  });
  res.write(text);
  // Read and dropped through 'readable': a body iterator left attached (multipart) keeps `resume()` from flowing.
  const drop = (): void => { while (req.read() !== null); };
  let timer: NodeJS.Timeout | undefined;
  const close = (): void => {
    clearTimeout(timer);
    req.off('readable', drop).off('end', close).off('close', close).off('error', close);
    res.end();
  };
  timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.on('readable', drop).on('end', close).on('close', close).on('error', close);
  drop();
}

/** One path segment, percent-decoded. @throws HttpError 400 BAD_PATH for a malformed escape. */
export function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_PATH', 'the path has a malformed percent-encoding');
  }
}

/** Reads a JSON object body of at most `limit` bytes. */
export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  // Not `for await (… of req)`: leaving that loop early destroys the socket, and the 413 must still reach the client.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'BAD_JSON', 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'BAD_JSON', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Compares the request's bearer token with the configured one in constant time (hashes first, so length leaks nothing). */
export function bearerMatches(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const given = createHash('sha256').update(m?.[1]?.trim() ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}
