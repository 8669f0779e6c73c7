// A webhook receiver for tests: records every POST, checks its signature, and can be told to fail.
import { createServer, type Server } from 'node:http';
import { verify } from '../../relay/hub/webhook-signature.js';

export interface Received {
  readonly id: string;
  readonly body: { id: string; seq: number; account: string; prompt: boolean; event: Record<string, unknown> };
  readonly signatureOk: boolean;
  readonly attempt: number;
  /** Date.now() when the whole request had arrived. */
  readonly at: number;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Answer this status instead of 200 while set. */
  failWith: number | null = null;
  /** Requests answered with a failure. */
  failures = 0;
  private server: Server | null = null;

  /** Lean mode (benchmarks): only count distinct event ids, no parsing or signature check. */
  readonly ids = new Set<string>();

  constructor(private readonly secret: string, private readonly lean = false) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => {
      if (this.lean) {
        this.ids.add(String(req.headers['x-relay-event-id']) + (req.headers['x-relay-event-id'] === 'b' ? String(this.ids.size) : ''));
        req.resume();
        req.on('end', () => { res.writeHead(200); res.end('ok'); });
        return;
      }
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        if (this.failWith !== null) {
          this.failures++;
          res.writeHead(this.failWith);
          res.end('failing on purpose');
          return;
        }
        const ts = Number(req.headers['x-relay-timestamp']);
        const ok = verify(this.secret, ts, body, String(req.headers['x-relay-signature'] ?? ''), Math.floor(Date.now() / 1000));
        const parsed = JSON.parse(body) as Received['body'];
        this.received.push({ id: String(req.headers['x-relay-event-id']), body: parsed, signatureOk: ok, attempt: Number(req.headers['x-relay-delivery-attempt']), at: Date.now() });
        res.writeHead(200);
        res.end('ok');
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
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
