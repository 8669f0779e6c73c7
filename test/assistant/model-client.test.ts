// The model client against a local chat-completions server: a Retry-After longer than the bound waits
// only the bound; requestsPerSecond spaces requests out; a 401 is not retried.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ModelClient } from '../../relay/assistant/model-client.js';
import { RequestRate } from '../../relay/assistant/rate-limit.js';
import { ModelServer } from '../support/model-server.js';

describe('assistant model client', () => {
  const server = new ModelServer();
  before(() => server.start());
  after(() => server.stop());
  const client = (o: { maxRetryAfterMs?: number; rps?: number } = {}): ModelClient => new ModelClient({
    baseUrl: server.url, apiKey: 'k', model: 'm', timeoutMs: 5000, retries: 2, maxRetryAfterMs: o.maxRetryAfterMs ?? 30_000, rate: new RequestRate(o.rps ?? 100),
  });
  const ask = (c: ModelClient): Promise<string> => c.complete([{ role: 'user', content: 'hi' }], new AbortController().signal);

  it('a Retry-After of two minutes is cut to maxRetryAfterMs', async () => {
    const first = server.requests.length;
    server.respond = (_r, i) => (i === first ? { status: 429, headers: { 'retry-after': '120' } } : { reply: 'done' });
    const t0 = performance.now();
    assert.equal(await ask(client({ maxRetryAfterMs: 300 })), 'done');
    const waited = server.requests[first + 1]!.at - server.requests[first]!.at;
    assert.ok(waited >= 290 && performance.now() - t0 < 10_000, `waited ${Math.round(waited)} ms`);
  });

  it('a 401 is not retried and says which status', async () => {
    const first = server.requests.length;
    server.respond = () => ({ status: 401 });
    await assert.rejects(ask(client()), (e: Error & { code?: string }) => e.code === 'ASSISTANT_MODEL_HTTP' && /HTTP 401/.test(e.message));
    assert.equal(server.requests.length, first + 1);
  });

  it('requestsPerSecond: 10 requests at 5 per second take at least a second (a burst of 5, then one every 200 ms)', async () => {
    server.respond = () => ({ reply: 'ok' });
    const c = client({ rps: 5 });
    const first = server.requests.length;
    const t0 = performance.timeOrigin + performance.now();
    await Promise.all(Array.from({ length: 10 }, () => ask(c)));
    const at = server.requests.slice(first).map((r) => r.at).sort((a, b) => a - b);
    const span = at[9]! - t0;
    assert.ok(span >= 950, `10 requests at 5/s took ${Math.round(span)} ms`);
  });
});
