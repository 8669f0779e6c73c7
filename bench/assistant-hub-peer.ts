// The hub's side of the assistant benchmark, in its own process (as on its own machine): a hub whose
// built-in assistant asks the model server at `modelUrl` (bench/assistant.ts runs it). IPC: `ready`
// with the link port, `stop`.
import { join } from 'node:path';
import { systemClock } from '../relay/clock.js';
import { DEFAULT_SYSTEM_PROMPT } from '../relay/config/assistant-config.js';
import { NO_TUNNEL } from '../relay/config/tunnel-config.js';
import { Hub } from '../relay/hub/hub.js';
import { silentLogger } from '../relay/logger.js';

const { home, relayPublicKey, modelUrl } = JSON.parse(process.argv[2] ?? '{}') as { home: string; relayPublicKey: string; modelUrl: string };
const LINK = { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 50, backoffCapMs: 500 };
const hub = new Hub({
  clock: systemClock, logger: silentLogger(),
  config: {
    dataDir: join(home, 'hub'), keyFile: join(home, 'hub.key'), listen: { host: '127.0.0.1', port: 0 },
    api: { host: '127.0.0.1', port: 0, token: 'bench-token-0123456789abcdef', maxFileBytes: 1024 * 1024 }, relays: [{ account: 'bench', publicKey: relayPublicKey }],
    webhooks: [], link: LINK, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
    assistant: {
      enabled: true, baseUrl: modelUrl, model: 'bench', apiKey: 'bench', systemPrompt: DEFAULT_SYSTEM_PROMPT, timeoutMs: 10_000, retries: 0,
      maxRetryAfterMs: 1000, requestsPerSecond: 10, maxHistory: 20, allow: [], notAllowedReply: null, name: 'Assistant', handles: [],
      vision: false, maxImageBytes: 1024, imageWaitMs: 0, apologyText: null, apologyMinutes: 10, failureThreshold: 3,
    },
  },
});
const ports = await hub.start();
process.on('message', (m: { t: string }) => {
  if (m.t === 'stop') void hub.stop().then(() => process.exit(0));
});
process.send!({ t: 'ready', linkPort: ports.linkPort });
