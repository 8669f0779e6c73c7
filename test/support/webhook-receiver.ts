// A webhook receiver for tests: records every POST, checks its signature independently of the hub's
// code (node:crypto over "<timestamp>.<body>", as the README documents), and can be told to fail.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/**
 * The signature check a receiver would write from the README alone, independent of
 * relay/hub/webhook-signature.ts: `v1=` + 64 hex digits of HMAC-SHA256(secret, "<ts>.<body>"),
 * compared in constant time, timestamp at most 300 s from `nowS`.
 */
export function referenceVerify(secret: string, timestamp: string, body: string, signature: string, nowS: number): boolean {
  if (!/^\d+$/.test(timestamp) || Math.abs(nowS - Number(timestamp)) > 300) return false;
  const m = /^v1=([0-9a-f]{64})$/.exec(signature);
  if (m === null) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}

export interface Received {
  readonly id: string;
  readonly body: { id: string; seq: number; account: string; prompt: boolean; event: Record<string, unknown> };
  readonly signatureOk: boolean;
  readonly attempt: number;
  /** Date.now() when the whole request had arrived. */
  readonly at: number;
  /** The request as it came: headers (lower-case names) and the body text. */
  readonly raw: { readonly headers: Readonly<Record<string, string | string[] | undefined>>; readonly body: string };
}

/** One POST whatever its outcome: answered 2xx (`ok`) or failed on purpose. */
export interface Post {
  readonly id: string;
  readonly attempt: number;
  readonly ok: boolean;
  /** The request's headers (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Answer this status instead of 200 while set. */
  failWith: number | null = null;
  /** Answer 500 to the events this returns true for (while `failWith` is not set). */
  failWhen: ((body: Received['body']) => boolean) | null = null;
  /** Requests answered with a failure. */
  failures = 0;
  /** Every POST in arrival order, failed or not. */
  readonly posts: Post[] = [];
  /** Called after a POST was answered 2xx. */
  onReceived: ((r: Received) => void) | null = null;
  private server: Server | null = null;

  /** Lean mode (benchmarks): only count distinct event ids, no parsing or signature check. */
  readonly ids = new Set<string>();

  constructor(private readonly secret: string, private readonly lean = false) {}

  /** Listens on `host` (loopback, or an address a hub in a network namespace can reach). */
  async start(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((req, res) => {
      if (this.lean) {
        this.ids.add(String(req.headers['x-relay-event-id']) + (req.headers['x-relay-event-id'] === 'b' ? String(this.ids.size) : ''));
        req.resume();
        req.on('end', () => { res.writeHead(200); res.end('ok'); });
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => { chunks.push(d); });
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['x-relay-event-id']);
        const attempt = Number(req.headers['x-relay-delivery-attempt']);
        const parsed = this.failWith === null ? JSON.parse(body) as Received['body'] : null;
        if (parsed === null || this.failWhen?.(parsed) === true) {
          this.failures++;
          this.posts.push({ id, attempt, ok: false, headers: { ...req.headers } });
          res.writeHead(this.failWith ?? 500);
          res.end('failing on purpose');
          return;
        }
        const ok = referenceVerify(this.secret, String(req.headers['x-relay-timestamp'] ?? ''), body, String(req.headers['x-relay-signature'] ?? ''), Math.floor(Date.now() / 1000));
        const r: Received = { id, body: parsed, signatureOk: ok, attempt, raw: { headers: { ...req.headers }, body }, at: Date.now() };
        this.received.push(r);
        this.posts.push({ id, attempt, ok: true, headers: { ...req.headers } });
        res.writeHead(200);
        res.end('ok');
        this.onReceived?.(r);
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(port, host, () => resolve()));
    return (this.server.address() as { port: number }).port;
  }

  /** Distinct event ids in first-arrival order. */
  distinct(): Received[] {
    const seen = new Set<string>();
    return this.received.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
