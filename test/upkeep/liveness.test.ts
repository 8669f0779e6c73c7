// Liveness: no incoming message for `quietMinutes` while chat.db and the link are fine makes health
// say so (Apple may have signed the account out); silence explained by another component does not;
// the last incoming message survives a restart; the liveness job logs once per quiet spell.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ReaderStatus } from '../../relay/chatdb/reader.js';
import { macHealth, type MacHealthInputs } from '../../relay/mac/mac-health.js';
import { macUpkeepJobs } from '../../relay/mac/upkeep.js';
import { AttachmentStaging } from '../../relay/messages-app/staging.js';
import { Scheduler } from '../../relay/scheduler.js';
import { MacStore } from '../../relay/store/mac-store.js';
import { tempDir } from '../support/chatdb-env.js';
import { captureLogger, FakeClock, FakeCron } from '../support/fake-cron.js';

const HOUR = 3600_000;
const T0 = new Date(2026, 2, 10, 9, 0).getTime();
const readerOk: ReaderStatus = { state: 'ok', error: null, since: T0, cursor: 10, pending: 0 };

function inputs(now: number, lastInboundAt: number | null, over: Partial<MacHealthInputs> = {}): MacHealthInputs {
  return {
    now, startedAt: T0, stopping: false, reader: readerOk, link: { up: true, since: T0, reason: null, account: 'alice', failures: 0 },
    outbox: { count: 0, oldestAgeMs: null }, deadLetters: { count: 0, last: null }, lastInboundAt, automationDenied: false, tunnel: null,
    limits: { degradedDepth: 1000, degradedAgeSeconds: 120, quietMinutes: 6 * 60 }, ...over,
  };
}

describe('liveness', () => {
  it('health warns when nothing came in for quietMinutes while chat.db and the link are fine', () => {
    const fine = macHealth(inputs(T0 + 5 * HOUR, T0));
    assert.equal(fine.status, 'ok');
    const quiet = macHealth(inputs(T0 + 7 * HOUR, T0));
    assert.equal(quiet.status, 'degraded');
    assert.equal(quiet.components['inbound']?.state, 'degraded');
    assert.equal(quiet.components['inbound']?.['code'], 'INBOUND_QUIET');
    assert.match(quiet.components['inbound']?.reason ?? '', /no incoming message for 7 h \(expected within 6 h\).*signed this Mac out of iMessage/);
    // Never a message since start: counted from the start.
    assert.equal(macHealth(inputs(T0 + 7 * HOUR, null)).components['inbound']?.state, 'degraded');
    assert.equal(macHealth(inputs(T0 + 7 * HOUR, T0, { limits: { degradedDepth: 1000, degradedAgeSeconds: 120, quietMinutes: 0 } })).status, 'ok', 'quietMinutes 0: off');
  });

  it('silence explained by chat.db or the link being down is left to those components', () => {
    const linkDown = macHealth(inputs(T0 + 7 * HOUR, T0, { link: { up: false, since: T0, reason: 'closed (1006)', account: null, failures: 1 } }));
    assert.equal(linkDown.components['inbound']?.state, 'ok');
    assert.equal(linkDown.components['link']?.state, 'degraded');
    const dbDown = macHealth(inputs(T0 + 7 * HOUR, T0, { reader: { ...readerOk, state: 'down', error: { code: 'CHATDB_NO_ACCESS', message: 'permission denied' } } }));
    assert.equal(dbDown.components['inbound']?.state, 'ok');
    assert.equal(dbDown.components['chatdb']?.state, 'degraded');
  });

  it('the last incoming message is read back from the store after a restart (from-me rows do not count)', () => {
    const t = tempDir();
    try {
      let now = T0;
      const path = join(t.dir, 'relay.db');
      const a = new MacStore(path, () => now);
      assert.equal(a.lastInboundAt(), null);
      a.enqueueWithCursor([{ type: 'event', id: 'message:G1', body: { kind: 'message', guid: 'G1' } }], 'chatdb', '{}');
      now = T0 + HOUR;
      a.enqueueWithCursor([{ type: 'event', id: 'from_me:G2', body: { kind: 'from_me', guid: 'G2' } }, { type: 'event', id: 'read:G1', body: { kind: 'read', guid: 'G1' } }], 'chatdb', '{}');
      a.close();
      const b = new MacStore(path, () => now);
      assert.equal(b.lastInboundAt(), T0);
      b.close();
    } finally { t.cleanup(); }
  });

  it('the liveness job logs the silence once, and when messages come in again', async () => {
    const t = tempDir();
    const clock = new FakeClock(T0);
    const cron = new FakeCron(clock);
    const { logger, lines } = captureLogger();
    const store = new MacStore(join(t.dir, 'relay.db'), () => clock.now());
    let last: number | null = T0;
    const scheduler = new Scheduler({
      cron, clock, logger,
      jobs: macUpkeepJobs({
        schedules: { prune: null, optimize: null, stats: null, keepAlive: null, liveness: '*/15 * * * *' }, retentionDays: 7, clock, logger,
        store, staging: new AttachmentStaging(join(t.dir, 'staging'), 1024),
        health: () => { const r = macHealth(inputs(clock.now(), last)); return { status: r.status, inbound: r.components['inbound'], linkUp: true }; },
      }),
    });
    scheduler.start();
    try {
      await cron.advance(6 * HOUR);
      assert.deepEqual(lines.filter((l) => l.level >= 40), [], 'quiet for 6 h is within the 6 h allowed');
      await cron.advance(3 * HOUR);
      const warned = lines.filter((l) => l.level === 40);
      assert.equal(warned.length, 1, 'one warning for the spell, not one every 15 min');
      assert.equal(warned[0]!['code'], 'INBOUND_QUIET');
      assert.match(warned[0]!.msg, /no incoming message for 6 h/);
      last = clock.now();
      await cron.advance(HOUR);
      assert.equal(lines.filter((l) => l.msg === 'incoming messages again').length, 1);
      assert.equal(lines.filter((l) => l.level === 40).length, 1);
    } finally { await scheduler.stop(); store.close(); t.cleanup(); }
  });
});
