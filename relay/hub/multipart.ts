// A streaming multipart/form-data reader (RFC 7578) for POST /v1/messages: fields and one file, the
// file's bytes handed on as they arrive (never the whole body in memory). Each part's body must be
// read to its end before the next part is asked for.
import { HttpError } from './http-io.js';

export interface FormPart {
  readonly name: string;
  readonly filename: string | null;
  readonly contentType: string | null;
  readonly body: AsyncIterable<Buffer>;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');
const malformed = (why: string): HttpError => new HttpError(400, 'BAD_MULTIPART', `malformed multipart body: ${why}`);

/** The boundary of a multipart/form-data Content-Type, or null for any other type. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (m === null) throw new HttpError(400, 'BAD_MULTIPART', 'multipart/form-data without a boundary');
  return m[1] ?? m[2]!;
}

function param(header: string, name: string): string | null {
  const ext = new RegExp(`;\\s*${name}\\*=(?:UTF-8|utf-8)''([^;]+)`).exec(header);
  if (ext !== null) {
    try { return decodeURIComponent(ext[1]!.trim()); } catch { throw malformed(`bad ${name}*`); }
  }
  const q = new RegExp(`;\\s*${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(header);
  if (q !== null) return q[1]!.replace(/\\(.)/g, '$1');
  const t = new RegExp(`;\\s*${name}=([^;\\s]+)`).exec(header);
  return t === null ? null : t[1]!;
}

class Input {
  buf: Buffer = Buffer.alloc(0);
  private ended = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Reads more; false at the end of the body. */
  async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done === true) { this.ended = true; return false; }
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }

  async need(n: number): Promise<void> {
    while (this.buf.length < n) if (!(await this.more())) throw malformed('the body ends early');
  }
}

/** Yields the parts of a multipart body in order. */
export async function* readMultipart(source: AsyncIterable<Buffer>, boundary: string): AsyncGenerator<FormPart> {
  const input = new Input(source[Symbol.asyncIterator]());
  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // Preamble (usually empty), then the first boundary.
  for (;;) {
    const at = input.buf.indexOf(first);
    if (at >= 0) { input.buf = input.buf.subarray(at + first.length); break; }
    if (input.buf.length > MAX_HEADER_BYTES) throw malformed('no boundary');
    if (!(await input.more())) throw malformed('no boundary');
  }
  for (;;) {
    await input.need(2);
    if (input.buf[0] === 0x2d && input.buf[1] === 0x2d) return; // "--": the closing boundary
    if (input.buf[0] !== 0x0d || input.buf[1] !== 0x0a) throw malformed('bad boundary line');
    input.buf = input.buf.subarray(2);
    let end = input.buf.indexOf(CRLF2);
    while (end < 0) {
      if (input.buf.length > MAX_HEADER_BYTES) throw malformed('part headers too long');
      if (!(await input.more())) throw malformed('the body ends in part headers');
      end = input.buf.indexOf(CRLF2);
    }
    const headers = input.buf.subarray(0, end).toString('utf8').split('\r\n');
    input.buf = input.buf.subarray(end + 4);
    const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? '';
    const name = param(disposition, 'name');
    if (!/^content-disposition:\s*form-data/i.test(disposition) || name === null) throw malformed('a part without Content-Disposition: form-data; name=…');
    const type = headers.find((h) => /^content-type:/i.test(h))?.replace(/^content-type:\s*/i, '').trim() ?? null;
    let finished = false;
    const body = async function* (): AsyncGenerator<Buffer> {
      for (;;) {
        const at = input.buf.indexOf(delimiter);
        if (at >= 0) {
          if (at > 0) yield input.buf.subarray(0, at);
          input.buf = input.buf.subarray(at + delimiter.length);
          finished = true;
          return;
        }
        const safe = input.buf.length - (delimiter.length - 1);
        if (safe > 0) {
          const out = input.buf.subarray(0, safe);
          input.buf = input.buf.subarray(safe);
          yield out;
        }
        if (!(await input.more())) throw malformed('the body ends inside a part');
      }
    };
    yield { name, filename: param(disposition, 'filename'), contentType: type, body: body() };
    if (!finished) throw new Error('multipart: a part was not read to its end');
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
