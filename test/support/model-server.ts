// A local model server that speaks the chat-completions API on raw node:http (POST
// /v1/chat/completions), records every request (time, headers, body), and answers as the test tells
// it: a reply (after a delay, or held until released), a status with headers (429 + Retry-After,
// 500), a raw body (malformed JSON, an empty choice list), or nothing at all. By default it echoes the
// last user message.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ModelRequest {
  /** performance.timeOrigin + performance.now() when the request's body was read. */
  readonly at: number;
  readonly headers: IncomingMessage['headers'];
  readonly path: string;
  readonly body: { model: string; messages: Array<{ role: string; content: string | Array<Record<string, unknown>> }> };
}

export type ModelAnswer =
  | { readonly reply: string; readonly delayMs?: number }
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | { readonly raw: string; readonly contentType?: string }
  /** Answers only when `release()` is called (or never). */
  | { readonly hold: true; readonly reply: string };

/** The text of a message's content (text parts joined). */
export const contentText = (c: ModelRequest['body']['messages'][number]['content']): string =>
  typeof c === 'string' ? c : c.filter((p) => p['type'] === 'text').map((p) => String(p['text'])).join('\n');

/** The last user message's text. */
export const lastUserText = (r: ModelRequest): string => contentText([...r.body.messages].reverse().find((m) => m.role === 'user')?.content ?? '');

export class ModelServer {
  readonly requests: ModelRequest[] = [];
  /** When each answer's last byte was handed to the socket (same clock as `at`), by request index. */
  readonly answeredAt: number[] = [];
  /** How to answer request number `i` (0-based); default: echo. */
  respond: (req: ModelRequest, i: number) => ModelAnswer = (req) => ({ reply: `echo: ${lastUserText(req)}` });
  private server: Server | null = null;
  private held: Array<() => void> = [];
  private waiters = new Set<() => void>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const at = performance.timeOrigin + performance.now();
      let body: ModelRequest['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ModelRequest['body'];
      } catch {
        res.writeHead(400).end();
        return;
      }
      const request: ModelRequest = { at, headers: req.headers, path: req.url ?? '', body };
      const i = this.requests.push(request) - 1;
      for (const w of [...this.waiters]) w();
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') { res.writeHead(404).end(); return; }
      this.answer(i, this.respond(request, i), res);
    });
  }

  private answer(i: number, a: ModelAnswer, res: ServerResponse): void {
    const send = (status: number, headers: Record<string, string>, body: string): void => {
      res.writeHead(status, headers);
      res.end(body, () => { this.answeredAt[i] = performance.timeOrigin + performance.now(); });
    };
    if ('hold' in a) {
      this.held.push(() => send(200, { 'content-type': 'application/json' }, completion(a.reply)));
      return;
    }
    if ('raw' in a) return send(200, { 'content-type': a.contentType ?? 'application/json' }, a.raw);
    if ('status' in a) return send(a.status, { 'content-type': 'application/json', ...a.headers }, a.body ?? JSON.stringify({ error: { message: `status ${a.status}`, type: 'server_error' } }));
    const go = (): void => send(200, { 'content-type': 'application/json' }, completion(a.reply));
    if (a.delayMs !== undefined && a.delayMs > 0) {
      const t = setTimeout(go, a.delayMs);
      res.on('close', () => clearTimeout(t));
    } else go();
  }

  /** Answers every held request. */
  release(): void {
    const all = this.held;
    this.held = [];
    for (const h of all) h();
  }

  /** Resolves once `n` requests have arrived in all (rejects after `timeoutMs`). */
  async waitForRequests(n: number, timeoutMs = 20_000): Promise<ModelRequest[]> {
    const until = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`the model server got ${this.requests.length} requests, not ${n}`);
      await new Promise<void>((resolve) => {
        const done = (): void => { clearTimeout(t); this.waiters.delete(done); resolve(); };
        const t = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
    return this.requests;
  }

  async stop(): Promise<void> {
    if (this.server === null) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
    this.server = null;
  }
}

/** A chat completion holding one choice with `text`. */
export function completion(text: string): string {
  return JSON.stringify({
    id: 'chatcmpl-test', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: 'test-model',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}
