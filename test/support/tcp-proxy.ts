// A TCP proxy on loopback that a test can make cut every connection or stall all traffic for a while.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  cuts = 0;
  stalls = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (d: Buffer) => {
          if (this.stalled) {
            from.pause();
            const resume = (): void => { if (this.stalled) { setTimeout(resume, 20); return; } to.write(d); from.resume(); };
            setTimeout(resume, 20);
            return;
          }
          to.write(d);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
      const end = (): void => { client.destroy(); upstream.destroy(); this.pairs.delete(pair); };
      client.on('close', end); upstream.on('close', end);
      client.on('error', end); upstream.on('error', end);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return (this.server.address() as { port: number }).port;
  }

  /** Drops every open connection at once (both directions, no goodbye). */
  cut(): void {
    this.cuts++;
    for (const [a, b] of this.pairs) { a.destroy(); b.destroy(); }
    this.pairs.clear();
  }

  /** Holds all traffic for `ms`, then lets it through. */
  async stall(ms: number): Promise<void> {
    this.stalls++;
    this.stalled = true;
    await new Promise((r) => setTimeout(r, ms));
    this.stalled = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server === null ? resolve() : this.server.close(() => resolve())));
  }
}
