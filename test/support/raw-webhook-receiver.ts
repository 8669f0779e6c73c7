// A webhook receiver written on raw node:net for misbehaving-receiver tests: per request it answers
// normally, or sends 200 headers then trickles the body, or streams a chunked body that never ends.
import { createServer, type Server, type Socket } from 'node:net';

/**
 * How to answer one request. `trickle`: 200 headers with a Content-Length, then 1 byte a second.
 * `endless`: 200 with a chunked body that never ends, `chunkBytes` every `everyMs` (0: as fast as the
 * socket takes them). `silent`: read the request, never answer.
 */
export type RawAnswer = { readonly kind: 'ok' } | { readonly kind: 'trickle' } | { readonly kind: 'silent' }
  | { readonly kind: 'endless'; readonly chunkBytes: number; readonly everyMs: number };

export interface RawRequest {
  readonly id: string;
  readonly attempt: number;
  readonly body: string;
  readonly answer: RawAnswer['kind'];
  /** Date.now() when the whole request had arrived. */
  readonly arrivedAt: number;
  /** Date.now() when the hub closed the connection (null while open). */
  closedAt: number | null;
  /** Body bytes written to the socket before it closed. */
  bytesSent: number;
}

export class RawWebhookReceiver {
  readonly requests: RawRequest[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  /** `choose` decides each request's answer from its event id, attempt header and body. */
  constructor(private readonly choose: (req: { id: string; attempt: number; body: string }) => RawAnswer) {}

  async start(): Promise<number> {
    this.server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    let buf = Buffer.alloc(0);
    let busy = false;
    let current: RawRequest | null = null;
    let timer: NodeJS.Timeout | null = null;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (timer !== null) clearTimeout(timer);
      if (current !== null) current.closedAt = Date.now();
    });
    const next = (): void => {
      while (!busy) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers.get('content-length') ?? 0);
        if (buf.length < end + 4 + length) return;
        const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
        buf = buf.subarray(end + 4 + length);
        const id = headers.get('x-relay-event-id') ?? '';
        const attempt = Number(headers.get('x-relay-delivery-attempt'));
        const answer = this.choose({ id, attempt, body });
        const req: RawRequest = { id, attempt, body, answer: answer.kind, arrivedAt: Date.now(), closedAt: null, bytesSent: 0 };
        this.requests.push(req);
        if (answer.kind === 'ok') {
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
          continue;
        }
        busy = true;
        current = req;
        if (answer.kind === 'trickle') {
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n');
          const drip = (): void => { req.bytesSent++; socket.write('.'); timer = setTimeout(drip, 1000); };
          timer = setTimeout(drip, 1000);
        } else if (answer.kind === 'endless') {
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
          const chunk = Buffer.from(`${answer.chunkBytes.toString(16)}\r\n${'x'.repeat(answer.chunkBytes)}\r\n`);
          const pour = (): void => {
            if (socket.destroyed) return;
            req.bytesSent += answer.chunkBytes;
            const more = socket.write(chunk);
            if (answer.everyMs > 0) timer = setTimeout(pour, answer.everyMs);
            else if (more) setImmediate(pour);
            else socket.once('drain', pour);
          };
          pour();
        }
      }
    };
    socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); next(); });
  }
}
