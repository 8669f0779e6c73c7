// The assistant inside a hub store, in-process: turned on for a hub that already holds messages, it
// answers only what arrives from then on (a week of stored prompts is not answered at once).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Assistant } from '../../relay/assistant/assistant.js';
import { systemClock } from '../../relay/clock.js';
import type { AssistantConfig } from '../../relay/config/assistant-config.js';
import { Metrics } from '../../relay/health/metrics.js';
import { handleAnonymiser, silentLogger } from '../../relay/logger.js';
import { HubStore } from '../../relay/store/hub-store.js';
import { tempDir } from '../support/chatdb-env.js';
import { lastUserText, ModelServer } from '../support/model-server.js';

const dm = (h: string): Record<string, unknown> => ({ guid: `iMessage;-;${h}`, identifier: h, name: null, is_group: false, participants: [h] });
let seq = 0;
const message = (text: string, from = '+15550001'): { seq: number; type: 'event'; id: string; body: Record<string, unknown> } => {
  const guid = `G-${++seq}`;
  return { seq, type: 'event', id: `message:${guid}`, body: { kind: 'message', guid, text, sender: from, chat: dm(from), backlog: false, attachments: [], mentions: [], date: new Date().toISOString(), service: 'iMessage' } };
};

describe('assistant: turned on for a hub that already holds messages', () => {
  const tmp = tempDir('imr-assistant-start-');
  const model = new ModelServer();
  after(async () => { await model.stop(); tmp.cleanup(); });

  it('answers only what arrives after its first start, and a restart does not go back', async () => {
    await model.start();
    const store = new HubStore(join(tmp.dir, 'hub.db'), () => Date.now());
    store.events.relay('a', 'key', 'store-1');
    store.events.ingest('a', [message('old question 1', '+15550009'), message('old question 2', '+15550008')], []);
    const config: AssistantConfig = {
      enabled: true, baseUrl: model.url, model: 'm', apiKey: 'k', systemPrompt: 'sys', timeoutMs: 5000, retries: 0, maxRetryAfterMs: 1000,
      requestsPerSecond: 10, maxHistory: 20, allow: [], notAllowedReply: null, name: 'Robo', handles: [], vision: false, maxImageBytes: 1,
      imageWaitMs: 0, apologyText: null, apologyMinutes: 10, failureThreshold: 3,
    };
    const queued: string[] = [];
    const make = (): Assistant => new Assistant({
      config, store, clock: systemClock, logger: silentLogger(), metrics: new Metrics(), anon: handleAnonymiser(Buffer.alloc(32)),
      image: () => ({ state: 'gone' }), onCommand: (account) => queued.push(account),
    });
    let assistant = make();
    assistant.start();
    const fresh = store.events.ingest('a', [message('new question')], []);
    assistant.offer(fresh.inserted);
    await model.waitForRequests(1);
    while (queued.length < 1) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(model.requests.map(lastUserText), ['new question']);
    await assistant.stop();

    assistant = make();
    assistant.start();
    const next = store.events.ingest('a', [message('after restart')], []);
    assistant.offer(next.inserted);
    await model.waitForRequests(2);
    while (queued.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(model.requests.map(lastUserText), ['new question', 'after restart']);
    await assistant.stop();
    store.close();
  });
});
