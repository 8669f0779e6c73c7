// The hub's side of the send benchmarks, in its own process (as on its own machine): the hub, and the
// assistant calling its API. Driven over IPC by bench/send.ts and bench/files.ts: `probe` posts one
// command and reports when the call started (wall clock, ms with fractions); `burst` posts many and
// reports when the last one is sent; `file` uploads random bytes and sends them; `fetch` waits for
// an incoming attachment and reports when its bytes were served, with their SHA-256.
import { NO_TUNNEL } from '../relay/config/tunnel-config.js';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { systemClock } from '../relay/clock.js';
import { Hub } from '../relay/hub/hub.js';
import { silentLogger } from '../relay/logger.js';

const { home, relayPublicKey, token, chat } = JSON.parse(process.argv[2] ?? '{}') as { home: string; relayPublicKey: string; token: string; chat: string };
const LINK = { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 50, backoffCapMs: 500 };
const hub = new Hub({
  clock: systemClock, logger: silentLogger(),
  config: {
    dataDir: join(home, 'hub'), keyFile: join(home, 'hub.key'), listen: { host: '127.0.0.1', port: 0 },
    api: { host: '127.0.0.1', port: 0, token, maxFileBytes: 100 * 1024 * 1024 }, relays: [{ account: 'bench', publicKey: relayPublicKey }],
    webhooks: [], link: LINK, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
  },
});
const ports = await hub.start();
const now = (): number => performance.timeOrigin + performance.now();
const api = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`http://127.0.0.1:${ports.apiPort}${path}`, {
  ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
});
const post = async (text: string): Promise<string> => ((await (await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: chat, text }) })).json()) as { id: string }).id;

process.on('message', (m: { t: string; text?: string; n?: number }) => {
  void (async () => {
    if (m.t === 'probe') {
      const t0 = now();
      await post(m.text!);
      process.send!({ t: 'posted', text: m.text, t0 });
    } else if (m.t === 'burst') {
      const t0 = now();
      let last = '';
      for (let i = 0; i < m.n!; i += 50) {
        const ids = await Promise.all(Array.from({ length: Math.min(50, m.n! - i) }, (_, j) => post(`throughput ${i + j}`)));
        last = ids.at(-1)!;
      }
      for (;;) {
        const c = await (await api(`/v1/messages/${last}`)).json() as { status: string };
        if (c.status === 'sent' || c.status === 'delivered') break;
        await new Promise((r) => setTimeout(r, 5));
      }
      process.send!({ t: 'burst_done', ms: now() - t0 });
    } else if (m.t === 'file') {
      const bytes = randomBytes(m.n!);
      const t0 = now();
      const up = await (await fetch(`http://127.0.0.1:${ports.apiPort}/v1/files?name=${m.text!}`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${token}` } })).json() as { id: string };
      await api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: chat, file_id: up.id }) });
      process.send!({ t: 'file_posted', t0, sha256: createHash('sha256').update(bytes).digest('hex') });
    } else if (m.t === 'fetch') {
      for (;;) {
        const res = await api(`/v1/attachments/${m.text!}`);
        if (res.status === 200) {
          const body = new Uint8Array(await res.arrayBuffer());
          process.send!({ t: 'fetched', t1: now(), sha256: createHash('sha256').update(body).digest('hex') });
          return;
        }
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 5));
      }
    } else if (m.t === 'stop') {
      await hub.stop();
      process.exit(0);
    }
  })();
});
process.send!({ t: 'ready', linkPort: ports.linkPort });
