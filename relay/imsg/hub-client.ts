// The command's HTTP client of the hub API (node:http, one keep-alive agent): JSON calls with a
// deadline and an abort signal, and file downloads. Says whether a failed call ever reached the hub.
import { Agent, request, type IncomingMessage } from 'node:http';
import { createWriteStream } from 'node:fs';

/** A call that got no HTTP answer. `reached`: false only when the hub certainly never saw the request. */
export class HubUnreachable extends Error {
  constructor(message: string, readonly reached: boolean, readonly aborted = false) {
    super(message);
    this.name = 'HubUnreachable';
  }
}

export interface HubAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
}

export interface CallOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface HubClientDeps {
  readonly base: URL;
  readonly token: string;
  readonly account: string | null;
}

/** The hub's `{"error":{"code","message"}}`, or nulls. */
export function hubError(a: HubAnswer): { code: string | null; message: string | null } {
  const e = a.body['error'] as { code?: unknown; message?: unknown } | undefined;
  return { code: typeof e?.code === 'string' ? e.code : null, message: typeof e?.message === 'string' ? e.message : null };
}

export class HubClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(private readonly deps: HubClientDeps) {}

  /** The path with `query` (undefined values left out) and the account when one is configured. */
  url(path: string, query: Record<string, string | number | boolean | undefined> = {}): URL {
    const u = new URL(path, this.deps.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    if (this.deps.account !== null) u.searchParams.set('account', this.deps.account);
    return u;
  }

  /** GET, answer parsed as JSON. @throws HubUnreachable when no answer came. */
  get(path: string, query: Record<string, string | number | boolean | undefined>, opts: CallOptions): Promise<HubAnswer> {
    return this.call('GET', this.url(path, query), null, 'application/json', opts);
  }

  /** POST of a JSON body or raw bytes. @throws HubUnreachable when no answer came. */
  post(path: string, query: Record<string, string | number | boolean | undefined>, body: Buffer | Record<string, unknown>, opts: CallOptions): Promise<HubAnswer> {
    const raw = Buffer.isBuffer(body);
    const payload = raw ? body : Buffer.from(JSON.stringify(this.deps.account === null ? body : { account: this.deps.account, ...body }));
    return this.call('POST', this.url(path, raw ? query : {}), payload, raw ? 'application/octet-stream' : 'application/json', opts);
  }

  /**
   * Streams a GET's body into `file` when the answer is 200 (the caller renames it into place);
   * other answers come back with their JSON body and write nothing.
   */
  download(path: string, file: string, opts: CallOptions): Promise<HubAnswer> {
    return this.call('GET', this.url(path), null, 'application/json', opts, file);
  }

  /** Closes idle keep-alive sockets (the process can then end on its own). */
  close(): void {
    this.agent.destroy();
  }

  private call(method: string, url: URL, payload: Buffer | null, type: string, opts: CallOptions, file?: string): Promise<HubAnswer> {
    return new Promise((resolve, reject) => {
      let connected = false;
      let settled = false;
      const onAbort = (): void => fail('aborted', true);
      /** Ends the call: no timer and no abort listener stay behind (a watch makes thousands of calls on one signal). */
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (message: string, aborted = false): void => {
        if (!done()) return;
        req.destroy();
        reject(new HubUnreachable(message, connected, aborted));
      };
      const headers: Record<string, string | number> = { authorization: `Bearer ${this.deps.token}`, accept: 'application/json' };
      if (payload !== null) Object.assign(headers, { 'content-type': type, 'content-length': payload.length });
      const req = request(url, { method, headers, agent: this.agent }, (res) => {
        if (file !== undefined && res.statusCode === 200) {
          const out = createWriteStream(file, { mode: 0o640 });
          res.pipe(out);
          out.on('finish', () => { if (done()) resolve({ status: 200, body: {}, headers: res.headers }); });
          out.on('error', (err) => fail(`cannot write the download: ${err.message}`));
          res.on('error', (err) => fail(`download cut: ${err.message}`));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', (err) => fail(`answer cut: ${err.message}`));
        res.on('end', () => {
          if (!done()) return;
          let body: Record<string, unknown> = {};
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
            if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
          } catch { /* not JSON: status alone */ }
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
      });
      req.on('socket', (s) => {
        if (!s.connecting) connected = true;
        else s.once('connect', () => { connected = true; });
      });
      req.on('error', (err) => fail(`hub unreachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      const timer = setTimeout(() => fail(`no answer from the hub within ${opts.timeoutMs} ms`), opts.timeoutMs);
      if (opts.signal !== undefined) {
        if (opts.signal.aborted) fail('aborted', true);
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      req.end(payload ?? undefined);
    });
  }
}
