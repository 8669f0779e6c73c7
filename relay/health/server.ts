// The HTTP endpoints monitoring uses: GET /health (JSON, 200 or 503) and GET /metrics (Prometheus
// text). Both answer from in-memory state, so they stay fast whatever else the process is doing.
// /health shows the full report only to an authorised request; anyone else sees states and reasons.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenError } from '../errors.js';
import { httpStatus, publicReport, type HealthReport } from './report.js';
import type { Metrics } from './metrics.js';

export interface HealthSources {
  readonly report: () => HealthReport;
  readonly metrics: Metrics;
  /**
   * True when the request may see the full report (the hub: its API bearer token). Without it, or
   * when it says no, /health shows each component's state, reason and code only (no accounts, no
   * handles, no cursors): the Mac, which has no token, always answers that way.
   */
  readonly authorized?: (req: IncomingMessage) => boolean;
}

/** Handles /health and /metrics; returns false for any other path. */
export function serveHealth(req: IncomingMessage, res: ServerResponse, sources: HealthSources): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/health') {
    const report = sources.report();
    const body = JSON.stringify(sources.authorized?.(req) === true ? report : publicReport(report));
    res.writeHead(httpStatus(report), { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
  if (path === '/metrics') {
    const { metrics } = sources;
    metrics.render().then((text) => {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : `metrics failed: ${(err as Error).message}\n`);
    });
    return true;
  }
  return false;
}

/** Starts `server` on host:port; resolves with the bound port (port 0 picks a free one). */
export function listen(server: Server, host: string, port: number, what = 'server'): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(listenError(err, what, host, port));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, drops idle keep-alive connections, resolves once closed. */
export async function close(server: Server | null): Promise<void> {
  if (server === null) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
