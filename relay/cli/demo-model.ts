// The demo's stand-in for a model: a chat-completions endpoint on loopback (POST
// /v1/chat/completions) that echoes the last user message, so `demo` shows built-in replies with no
// model and no key. `demo --model <base URL>` uses a real one instead.
import { createServer, type Server } from 'node:http';

export interface EchoModel {
  readonly baseUrl: string;
  close(): Promise<void>;
}

function lastUserText(body: unknown): string {
  const messages = (body as { messages?: Array<{ role?: string; content?: unknown }> } | null)?.messages ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content;
  if (typeof last === 'string') return last;
  return Array.isArray(last) ? last.filter((p: { type?: string }) => p.type === 'text').map((p: { text?: string }) => p.text ?? '').join(' ') : '';
}

/** Starts the echo model on 127.0.0.1 (a free port). */
export async function startEchoModel(): Promise<EchoModel> {
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => { raw += d.toString(); });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') { res.writeHead(404).end(); return; }
      let body: unknown = null;
      try { body = JSON.parse(raw); } catch { res.writeHead(400).end(); return; }
      const content = `(echo) You said: ${lastUserText(body)}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'demo', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: 'echo', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
