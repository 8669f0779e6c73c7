// POSTs over keep-alive connections with node:http/https (several times faster than fetch for many
// small requests). Each request has a deadline for the whole exchange and a cap on the answer's size.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostResult {
  readonly status: number;
}

/** Largest response body read; a receiver that answers more fails the attempt. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Sends one POST. Resolves with the status once the whole response has been read; rejects when the
 * request fails, when connect + headers + body take longer than `timeoutMs` in total (a receiver
 * trickling bytes cannot stretch it), or when the response body exceeds {@link MAX_RESPONSE_BYTES}.
 */
export type Post = (body: string, headers: Record<string, string>, timeoutMs: number) => Promise<PostResult>;

/** A poster to one URL with its own pool of `maxSockets` keep-alive connections. */
export function createPoster(url: string, maxSockets: number): { post: Post; close: () => void } {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets });
  const send = secure ? httpsRequest : httpRequest;
  const target = { protocol: u.protocol, hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'POST', agent };
  const post: Post = (body, headers, timeoutMs) => new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, status = 0): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err === null) { resolve({ status }); return; }
      req.destroy();
      reject(err);
    };
    const req = send({ ...target, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_RESPONSE_BYTES) finish(new Error(`response body over ${MAX_RESPONSE_BYTES} bytes`));
      });
      res.on('end', () => finish(null, res.statusCode ?? 0));
      res.on('error', (err) => finish(err));
      res.on('close', () => finish(new Error('response cut off')));
    });
    // One timer for the whole exchange: an idle timeout would be reset by every trickled byte.
    const deadline = setTimeout(() => finish(Object.assign(new Error(`no complete answer within ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
    req.on('error', (err) => finish(err));
    req.end(body);
  });
  return { post, close: () => agent.destroy() };
}
