// /metrics on both daemons, run side by side in one process as the tests and the benchmark do: each
// serves the standard Node process metrics (CPU, memory, heap, GC, event-loop lag, open fds) beside
// ours, and each counts only what it saw itself (a registry per daemon, not one per process).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../relay/clock.js';
import { NO_TUNNEL } from '../../relay/config/tunnel-config.js';
import { Hub } from '../../relay/hub/hub.js';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import { silentLogger } from '../../relay/logger.js';
import { MacDaemon } from '../../relay/mac/daemon.js';
import { MessagesDb } from '../../relay/simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../../relay/simulator/schema.js';
import { encodeAttributedBody } from '../../relay/simulator/typedstream-writer.js';
import { sleep, tempDir, waitFor } from '../support/chatdb-env.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';
import { rawLink, type RawLink } from '../support/raw-link.js';

const TOKEN = 'metrics-test-token-0123456789';
const DM = 'iMessage;-;+15555550123';

/** prom-client's default metrics we promise: name → type. */
const PROCESS_METRICS: ReadonlyArray<readonly [string, string]> = [
  ['process_cpu_user_seconds_total', 'counter'],
  ['process_cpu_system_seconds_total', 'counter'],
  ['process_resident_memory_bytes', 'gauge'],
  ['process_open_fds', 'gauge'],
  ['process_start_time_seconds', 'gauge'],
  ['nodejs_heap_size_used_bytes', 'gauge'],
  ['nodejs_eventloop_lag_seconds', 'gauge'],
  ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
  ['nodejs_gc_duration_seconds', 'histogram'],
];

const scrape = async (port: number): Promise<string> => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
};

/** The value of one series (`name{labels}` exactly as written), or null when it is not there. */
function value(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

function assertProcessMetrics(text: string, who: string): void {
  for (const [name, type] of PROCESS_METRICS) {
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${who}: ${name} is a ${type}`);
  }
  assert.ok(value(text, 'process_open_fds')! > 0, `${who}: open file descriptors counted`);
  assert.ok(value(text, 'process_resident_memory_bytes')! > 1e6, `${who}: resident memory measured`);
  assert.ok(value(text, 'nodejs_heap_size_used_bytes')! > 1e6, `${who}: heap measured`);
  assert.ok(Number.isFinite(value(text, 'nodejs_eventloop_lag_seconds')), `${who}: event-loop lag measured`);
  assert.ok(value(text, 'process_cpu_user_seconds_total')! > 0, `${who}: CPU time measured`);
}

describe('/metrics of a Mac daemon and two hubs in one process', () => {
  const tmp = tempDir('imr-metrics-');
  const dir = tmp.dir;
  let hubA: Hub;
  let hubB: Hub;
  let mac: MacDaemon;
  let ports: { a: number; b: number; mac: number };
  let link: RawLink;

  before(async () => {
    const hubAKey = writeNewKeyFile(join(dir, 'a', 'hub.key'));
    writeNewKeyFile(join(dir, 'b', 'hub.key'));
    const macKey = writeNewKeyFile(join(dir, 'relay.key'));
    const rawKey = writeNewKeyFile(join(dir, 'raw.key'));
    hubA = new Hub({ clock: systemClock, logger: silentLogger(), config: inProcessHubConfig(join(dir, 'a'), { token: TOKEN, relays: [['mac', macKey]] }) });
    hubB = new Hub({ clock: systemClock, logger: silentLogger(), config: inProcessHubConfig(join(dir, 'b'), { token: TOKEN, relays: [['raw', rawKey]] }) });
    const a = await hubA.start();
    const b = await hubB.start();

    const messages = new MessagesDb(join(dir, 'chat.db'), [MINIMAL_CHATDB_SCHEMA]);
    messages.chat({ guid: DM, identifier: '+15555550123', participants: ['+15555550123'] });
    mac = new MacDaemon({
      clock: systemClock, logger: silentLogger(),
      config: {
        chatDb: messages.path, dataDir: join(dir, 'relay'), keyFile: join(dir, 'relay.key'),
        hubUrl: `ws://127.0.0.1:${a.linkPort}`, hubPublicKey: Buffer.from(hubAKey.publicKey).toString('base64'),
        health: { host: '127.0.0.1', port: 0 }, reader: { settleMs: 50, ageFenceMinutes: 15, pollIntervalMs: 100 },
        link: { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 50, backoffCapMs: 500, window: 100, batch: 50 },
        outbox: { degradedDepth: 1000, degradedAgeSeconds: 600 },
        sender: { enabled: false, osascript: '/nonexistent', timeoutMs: 5000, perSecond: 1, perChatPerSecond: 1, confirmMs: 5000, followMs: 1000 },
        attachments: { stagingDir: join(dir, 'staging'), maxBytes: 1024 * 1024, waitSeconds: 60, upload: false },
        quietMinutes: 0, retentionDays: 7, tunnel: NO_TUNNEL, log: { level: 'silent', file: null, logContent: false },
      },
    });
    ports = { a: a.apiPort, b: b.apiPort, mac: await mac.start() };
    for (const text of ['one', 'two']) messages.insert({ chat: DM, handle: '+15555550123', text, body: encodeAttributedBody(text) });
    messages.close();

    link = await rawLink(`ws://127.0.0.1:${b.linkPort}`, rawKey);
    link.send(link.seal({ t: 'hello', v: 1, agent: 'test', store: 'raw-store', cmd_acked: 0 }));
    await waitFor(() => link.received.some((m) => m.t === 'welcome'), 'hub B welcomes the raw relay');
    const event = { kind: 'message', guid: 'RAW-1', rowid: 1, date: null, service: 'iMessage', sender: '+1555', chat: null, backlog: false, text: 'x', attachments: [], reply_to: null, mentions: [], decode_error: null, truncated: false };
    link.send(link.seal({ t: 'items', items: [{ seq: 1, type: 'event', id: 'message:RAW-1', body: event }] }));
    await waitFor(() => link.received.some((m) => m.t === 'ack'), 'hub B stores the raw event');
  });

  after(async () => {
    link?.ws.close();
    await mac?.stop();
    await hubA?.stop();
    await hubB?.stop();
    tmp.cleanup();
  });

  it('each serves the standard process metrics (CPU, memory, heap, GC, event-loop lag, open fds) beside ours', async () => {
    const [macText, aText, bText] = await Promise.all([scrape(ports.mac), scrape(ports.a), scrape(ports.b)]);
    assertProcessMetrics(macText, 'Mac');
    assertProcessMetrics(aText, 'hub A');
    assertProcessMetrics(bText, 'hub B');
    // Ours stay as documented, prefix, type and help included.
    assert.match(macText, /^# HELP imessage_relay_outbox_depth Outbox items not yet acknowledged by the hub\n# TYPE imessage_relay_outbox_depth gauge$/m);
    assert.match(macText, /^# TYPE imessage_relay_events_read_total counter$/m);
    assert.match(aText, /^# HELP imessage_relay_webhook_deliveries_total Webhook attempts, by hook and result\n# TYPE imessage_relay_webhook_deliveries_total counter$/m);
  });

  it('each counts only what it saw itself', async () => {
    const settled = async (): Promise<boolean> => value(await scrape(ports.a), 'imessage_relay_events_received_total{kind="message"}') === 2
      && value(await scrape(ports.mac), 'imessage_relay_events_acked_total') === 2;
    for (const until = Date.now() + 15_000; !(await settled());) {
      if (Date.now() > until) assert.fail('hub A never stored, and the Mac never saw acked, the two messages');
      await sleep(20);
    }
    const [macText, aText, bText] = await Promise.all([scrape(ports.mac), scrape(ports.a), scrape(ports.b)]);
    assert.equal(value(macText, 'imessage_relay_events_read_total{kind="message"}'), 2, 'the Mac read two');
    assert.equal(value(macText, 'imessage_relay_events_acked_total'), 2, 'and hub A acked two');
    assert.equal(value(aText, 'imessage_relay_events_received_total{kind="message"}'), 2, 'hub A stored the Mac\'s two');
    assert.equal(value(bText, 'imessage_relay_events_received_total{kind="message"}'), 1, 'hub B stored the raw relay\'s one');
    assert.equal(value(aText, 'imessage_relay_link_handshakes_total{result="proven"}'), 1);
    assert.equal(value(bText, 'imessage_relay_link_handshakes_total{result="proven"}'), 1);
    assert.equal(value(aText, 'imessage_relay_relays_connected'), 1);
    assert.equal(value(bText, 'imessage_relay_relays_connected'), 1);
    assert.equal(value(aText, 'imessage_relay_events_read_total{kind="message"}'), null, 'no Mac series on a hub');
    assert.equal(value(macText, 'imessage_relay_events_received_total{kind="message"}'), null, 'no hub series on the Mac');
  });
});
