// GET /v1/openapi.json: the API's OpenAPI 3.1 contract (openapi.json at the package root), read
// once and served from memory with an ETag (a matching If-None-Match is a 304). No token needed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the document is: beside package.json, two folders up from relay/hub/ (and from dist/hub/). */
export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.json', import.meta.url));

let cached: { readonly bytes: Buffer; readonly etag: string } | null = null;

function load(): { readonly bytes: Buffer; readonly etag: string } {
  if (cached === null) {
    const bytes = readFileSync(OPENAPI_PATH);
    cached = { bytes, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"` };
  }
  return cached;
}

/** Answers GET (or HEAD) /v1/openapi.json; the caller has matched the path. */
export function serveOpenApi(req: IncomingMessage, res: ServerResponse): void {
  const { bytes, etag } = load();
  const common = { etag, 'cache-control': 'no-cache' };
  const wanted = req.headers['if-none-match'];
  if (typeof wanted === 'string' && wanted.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  res.writeHead(200, { ...common, 'content-type': 'application/json; charset=utf-8', 'content-length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
