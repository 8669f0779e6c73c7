// Detection latency: from the writer's COMMIT to the event, with the watcher alive and with it
// dead (poll only). Reported without the settle window, which is reported apart.
import { EventEmitter } from 'node:events';
import type { watch } from 'node:fs';
import { systemClock } from '../relay/clock.js';
import { ChatDbReader } from '../relay/chatdb/reader.js';
import { ChatDbWatcher } from '../relay/chatdb/watcher.js';
import { silentLogger } from '../relay/logger.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { benchDb, CHAT, HANDLE, percentile } from './support.js';

type Log = (name: string, value: number, unit: string) => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(samples: number, settleMs: number, pollIntervalMs: number, deaf: boolean): Promise<number[]> {
  const db = benchDb(1000);
  const waiting = new Map<string, number>();
  const latencies: number[] = [];
  const reader = new ChatDbReader({
    path: db.writer.path, clock: systemClock, logger: silentLogger(), homeDir: '/Users/bench', state: null, startAfter: 'end',
    options: { settleMs },
    commit: (events) => {
      const now = performance.now();
      for (const e of events) {
        const t = waiting.get(e.guid);
        if (t !== undefined) { latencies.push(now - t); waiting.delete(e.guid); }
      }
    },
  });
  const deafWatch = (() => Object.assign(new EventEmitter(), { close: () => undefined })) as unknown as typeof watch;
  const watcher = new ChatDbWatcher({
    path: db.writer.path, poll: () => reader.poll(), clock: systemClock, logger: silentLogger(),
    options: { pollIntervalMs }, ...(deaf ? { watch: deafWatch } : {}),
  });
  watcher.start();
  const body = encodeAttributedBody('latency probe');
  for (let i = 0; i < samples; i++) {
    await sleep(50 + Math.random() * 150);
    const { guid } = db.writer.insert({ chat: CHAT, handle: HANDLE, body });
    waiting.set(guid, performance.now());
    const until = Date.now() + pollIntervalMs + settleMs + 2000;
    while (waiting.has(guid) && Date.now() < until) await sleep(2);
  }
  watcher.stop();
  reader.close();
  db.cleanup();
  if (latencies.length !== samples) throw new Error(`${samples - latencies.length} probes never arrived`);
  return latencies;
}

export async function latencyBench(log: Log): Promise<void> {
  const settleMs = 500;
  const pollIntervalMs = 1000;
  log('latency.settle_ms', settleMs, 'ms');
  log('latency.poll_interval_ms', pollIntervalMs, 'ms');
  const alive = await measure(60, settleMs, pollIntervalMs, false);
  log('latency.watcher_alive_p50_ms', percentile(alive, 50), 'ms');
  log('latency.watcher_alive_p99_ms', percentile(alive, 99), 'ms');
  log('latency.watcher_alive_p99_over_settle_ms', percentile(alive, 99) - settleMs, 'ms');
  const dead = await measure(25, settleMs, pollIntervalMs, true);
  log('latency.watcher_dead_p50_ms', percentile(dead, 50), 'ms');
  log('latency.watcher_dead_p99_ms', percentile(dead, 99), 'ms');
  log('latency.watcher_dead_p99_over_poll_and_settle_ms', percentile(dead, 99) - settleMs - pollIntervalMs, 'ms');
}
