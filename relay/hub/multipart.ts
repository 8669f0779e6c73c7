// multipart/form-data (RFC 7578) for POST /v1/messages, read by busboy and handed on one part at a
// time: fields as text, a file's bytes as they arrive (never the whole body in memory). Each part's
// body must be read to its end before the next part is asked for. The one module that uses busboy.
import type { Writable } from 'node:stream';
import busboy from 'busboy';
import { HttpError } from './http-io.js';

export interface FormPart {
  readonly name: string;
  readonly filename: string | null;
  /** The part's Content-Type without parameters (`text/plain` when the part has none, as RFC 7578 says). */
  readonly contentType: string | null;
  readonly body: AsyncIterable<Buffer>;
}

/** The longest text field kept in memory; a longer one is refused by {@link fieldText} (413). */
const MAX_FIELD_BYTES = 1024 * 1024;
const malformed = (why: string): HttpError => new HttpError(400, 'BAD_MULTIPART', `malformed multipart body: ${why}`);

/** The boundary of a multipart/form-data Content-Type, or null for any other type. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  if (m === null) throw new HttpError(400, 'BAD_MULTIPART', 'multipart/form-data without a boundary');
  return m[1] ?? m[2]!;
}

type Item = { readonly part: FormPart; readonly stream?: { readonly readableEnded: boolean } } | { readonly error: Error } | { readonly end: true };

/** Busboy's events in arrival order, taken one at a time. */
class Queue {
  private readonly items: Item[] = [];
  private waiting: ((item: Item) => void) | null = null;

  push(item: Item): void {
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) w(item);
    else this.items.push(item);
  }

  next(): Promise<Item> {
    const item = this.items.shift();
    return item !== undefined ? Promise.resolve(item) : new Promise((resolve) => { this.waiting = resolve; });
  }
}

function drained(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { w.off('drain', done); w.off('close', done); resolve(); };
    w.on('drain', done);
    w.on('close', done);
  });
}

/**
 * Yields the parts of a multipart body in order.
 * @throws HttpError 400 BAD_MULTIPART for a body busboy cannot read (no boundary, ends early, a bad
 *   part header), a part without a name, or a form with no form-data part; an error of `source`
 *   itself (the client went away) as it is
 */
export async function* readMultipart(source: AsyncIterable<Buffer>, boundary: string): AsyncGenerator<FormPart> {
  const parser = busboy({
    headers: { 'content-type': `multipart/form-data; boundary="${boundary}"` },
    // Names are made safe by safeFileName (model/files.ts), not cut to a basename here; parameters are UTF-8.
    preservePath: true, defParamCharset: 'utf8', limits: { fieldSize: MAX_FIELD_BYTES },
  });
  const queue = new Queue();
  let sourceError: unknown = null;
  const mapped = (err: unknown): Error => (err === sourceError ? err as Error : malformed((err as Error).message));

  parser.on('field', (name, value, info) => {
    const bytes = Buffer.from(value, 'utf8');
    queue.push({
      part: {
        name, filename: null, contentType: info.mimeType,
        body: (async function* () {
          if (bytes.length > 0) yield bytes;
          if (info.valueTruncated) throw new HttpError(413, 'BODY_TOO_LARGE', `the field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`);
        })(),
      },
    });
  });
  parser.on('file', (name, stream, info) => {
    stream.on('error', () => {}); // read through the body below; this only keeps an unread part's error from going uncaught
    queue.push({
      stream,
      part: {
        name, filename: info.filename ?? null, contentType: info.mimeType,
        body: (async function* () {
          try {
            for await (const chunk of stream) yield chunk as Buffer;
          } catch (err) {
            throw mapped(err);
          }
        })(),
      },
    });
  });
  parser.on('error', (err) => queue.push({ error: mapped(err) }));
  parser.on('finish', () => queue.push({ end: true }));

  // Feeds the source in with backpressure. Not `pipeline`: that would destroy the request on an
  // error, and the client must still get the 400.
  const it = source[Symbol.asyncIterator]();
  void (async () => {
    try {
      for (;;) {
        const r = await it.next();
        if (parser.destroyed) return;
        if (r.done === true) { parser.end(); return; }
        if (!parser.write(r.value)) await drained(parser);
      }
    } catch (err) {
      sourceError = err;
      parser.destroy(err as Error);
    }
  })();

  let parts = 0;
  let current: { readonly readableEnded: boolean } | undefined;
  try {
    for (;;) {
      // Busboy waits for a file's bytes to be read before it reads on: an unread part would hang here.
      if (current !== undefined && !current.readableEnded) throw new Error('multipart: a part was not read to its end');
      const item = await queue.next();
      if ('error' in item) throw item.error;
      if ('end' in item) {
        if (parts === 0) throw malformed('no form-data part (each part needs Content-Disposition: form-data; name=…)');
        return;
      }
      if (item.part.name === undefined || item.part.name === '') throw malformed('a part without Content-Disposition: form-data; name=…');
      parts++;
      current = item.stream;
      yield item.part;
    }
  } finally {
    if (!parser.writableFinished) parser.destroy();
  }
}

/** Reads a part's body as text (a form field), at most `limit` bytes. */
export async function fieldText(part: FormPart, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of part.body) {
    size += c.length;
    if (size > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `the field "${part.name}" is longer than ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
