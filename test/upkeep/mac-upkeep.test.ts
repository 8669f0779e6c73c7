// The Mac daemon's upkeep jobs on a real store, a real staging folder and the fake osascript, driven
// by a fake clock: hourly pruning past retention (not only at start), the store shrinking after an
// optimize, Messages launched when it is not running, and an hourly stats line without content.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_MAC_UPKEEP, type MacUpkeep } from '../../relay/config/upkeep-config.js';
import { macUpkeepJobs, type MacUpkeepDeps } from '../../relay/mac/upkeep.js';
import { runScript, type ScriptName } from '../../relay/messages-app/osascript.js';
import { AttachmentStaging } from '../../relay/messages-app/staging.js';
import { Scheduler } from '../../relay/scheduler.js';
import { MacStore } from '../../relay/store/mac-store.js';
import { tempDir } from '../support/chatdb-env.js';
import { captureLogger, FakeClock, FakeCron } from '../support/fake-cron.js';
import { FakeMessages } from '../support/fake-messages.js';

const OFF: MacUpkeep = { prune: null, optimize: null, stats: null, keepAlive: null, liveness: null };
const HOUR = 3600_000;

function rig(dir: string, schedules: Partial<MacUpkeep>, start: number, extra: Partial<MacUpkeepDeps> = {}) {
  const clock = new FakeClock(start);
  const cron = new FakeCron(clock);
  const { logger, lines } = captureLogger();
  const store = new MacStore(join(dir, 'relay.db'), () => clock.now());
  const staging = new AttachmentStaging(join(dir, 'staging'), 1024 * 1024);
  const scheduler = new Scheduler({
    cron, clock, logger,
    jobs: macUpkeepJobs({
      schedules: { ...OFF, ...schedules }, store, staging, retentionDays: 1, clock, logger,
      health: () => ({ status: 'ok', inbound: undefined, linkUp: true }),
      ...extra,
    }),
  });
  scheduler.start();
  return { clock, cron, lines, store, staging, scheduler, close: async () => { await scheduler.stop(); store.close(); } };
}

const event = (n: number, kind = 'message', text = 'hello there') => ({ type: 'event' as const, id: `message:G${n}`, body: { kind, guid: `G${n}`, text } });
const send = (seq: number, id: string) => ({ seq, id, body: { kind: 'send', chat_guid: 'iMessage;-;+15555550123', text: 'hi' } });

describe('Mac upkeep jobs', () => {
  it('prune runs hourly: acknowledged rows, finished commands and stale staged files go once past retention, the rest stays', async () => {
    const t = tempDir();
    // Half past an hour near now (the staging sweep compares real file times with the clock): 25 hours hold exactly 25 full hours.
    const r = rig(t.dir, { prune: DEFAULT_MAC_UPKEEP.prune }, Math.floor(Date.now() / HOUR) * HOUR + HOUR / 2);
    try {
      const done = randomUUID();
      const waiting = randomUUID();
      const stale = randomUUID();
      r.store.enqueueWithCursor([event(1), event(2), event(3)], 'chatdb', '{}');
      r.store.receiveCommands([send(1, done), send(2, waiting)]);
      r.store.setCommandState(done, 'sent', { appleGuid: 'A1' });
      r.store.ack(r.store.pending(0, 100).at(-1)!.seq);
      r.store.enqueue([event(4)]);
      for (const id of [waiting, stale, done]) {
        mkdirSync(join(r.staging.root, id), { recursive: true });
        writeFileSync(join(r.staging.root, id, 'photo.jpg'), 'bytes');
      }
      const rows = (): number => r.store.stats(0).outboxRows;
      const before = rows();
      assert.equal(before, 5, '4 events and the finished command\'s result');

      await r.cron.advance(2 * HOUR);
      assert.equal(existsSync(join(r.staging.root, stale)), false, 'a staged folder no command needs, idle for an hour, is swept');
      assert.equal(existsSync(join(r.staging.root, waiting)), true, 'the folder of a command still waiting stays');
      assert.equal(existsSync(join(r.staging.root, done)), true, 'and of one sent (Messages may still be transferring its file)');
      assert.equal(rows(), before, 'nothing is pruned within retention (1 day)');

      await r.cron.advance(21 * HOUR);
      assert.equal(rows(), before);
      assert.equal(r.store.commandsInState('sent').length, 1);
      await r.cron.advance(2 * HOUR);
      assert.equal(rows(), 1, 'only the unacknowledged event is left');
      assert.equal(r.store.stats(0).unacked, 1);
      assert.deepEqual(r.store.commandsInState('sent'), [], 'the finished command is gone');
      assert.equal(r.store.commandsInState('received')[0]?.commandId, waiting, 'the waiting one stays');
      assert.equal(existsSync(join(r.staging.root, done)), false, 'the pruned command\'s folder is swept');
      assert.equal(existsSync(join(r.staging.root, waiting)), true);
      const fired = r.cron.fired.filter((f) => f.name === 'prune').length;
      assert.equal(fired, 25, 'pruned hourly: 25 runs in 25 hours');
      const logged = r.lines.filter((l) => l.msg.startsWith('pruned acknowledged outbox rows'));
      assert.deepEqual(logged.map((l) => [l['pruned'], l['swept']]), [[0, 1], [5, 1]]);
    } finally { await r.close(); t.cleanup(); }
  });

  it('optimize hands pruned pages back: the file shrinks and the WAL is emptied; a new store is made for incremental vacuum', async () => {
    const t = tempDir();
    const start = new Date(2026, 2, 10, 2, 0).getTime();
    const r = rig(t.dir, { prune: '0 * * * *', optimize: '30 3 * * *' }, start);
    try {
      const file = join(t.dir, 'relay.db');
      const check = new Database(file, { readonly: true });
      assert.equal(check.pragma('auto_vacuum', { simple: true }), 2, 'auto_vacuum = INCREMENTAL from the start');
      check.close();
      const big = 'x'.repeat(2000);
      for (let i = 0; i < 20; i++) r.store.enqueue(Array.from({ length: 100 }, (_, j) => event(i * 100 + j, 'message', big)));
      r.store.ack(r.store.pending(0, 5000).at(-1)!.seq);
      await r.cron.advance(25 * HOUR);
      const full = statSync(file).size;
      assert.ok(full > 4_000_000, `the rows took room (${full} bytes)`);
      assert.equal(r.store.stats(0).outboxRows, 0, 'pruned at 03:00 of the next day (1 day retention)');
      await r.cron.advance(HOUR);
      const small = statSync(file).size;
      assert.ok(small < full / 10, `the file shrank after the 03:30 optimize (${full} → ${small} bytes)`);
      assert.equal(statSync(`${file}-wal`).size, 0, 'the WAL is truncated');
      const line = r.lines.filter((l) => l.msg === 'store optimized').at(-1);
      assert.ok(line !== undefined && (line['freedPages'] as number) > 500, JSON.stringify(line));
    } finally { await r.close(); t.cleanup(); }
  });

  it('optimize converts a store made before incremental vacuum, once', async () => {
    const t = tempDir();
    const file = join(t.dir, 'relay.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE from_an_older_version (x)');
    old.close();
    const r = rig(t.dir, { optimize: '30 3 * * *' }, new Date(2026, 2, 10, 2, 0).getTime());
    try {
      const mode = (): unknown => { const d = new Database(file, { readonly: true }); try { return d.pragma('auto_vacuum', { simple: true }); } finally { d.close(); } };
      assert.equal(mode(), 0);
      await r.cron.advance(2 * HOUR);
      assert.equal(mode(), 2);
      await r.cron.advance(24 * HOUR);
      assert.equal(r.lines.filter((l) => l.msg.startsWith('store switched to incremental vacuum')).length, 1);
    } finally { await r.close(); t.cleanup(); }
  });

  it('keep-alive launches Messages (launch.js through osascript) only when it is not running', async () => {
    const t = tempDir();
    const messages = new FakeMessages();
    const calls: ScriptName[] = [];
    const automation: boolean[] = [];
    const run = (name: ScriptName, args: Record<string, string>): Promise<Record<string, unknown>> => { calls.push(name); return runScript(name, args, messages.options()); };
    const r = rig(t.dir, { keepAlive: '*/5 * * * *' }, new Date(2026, 2, 10, 10, 1).getTime(), { runScript: run, onAutomation: (d) => automation.push(d) });
    try {
      messages.set({ running: false });
      await r.cron.advance(5 * 60_000);
      assert.deepEqual(calls, ['probe', 'launch']);
      assert.ok(r.lines.some((l) => l.msg === 'Messages was not running: launched it' && l.level === 40));
      messages.set({ running: true });
      await r.cron.advance(5 * 60_000);
      assert.deepEqual(calls, ['probe', 'launch', 'probe'], 'running: probed, not launched');
      assert.deepEqual(automation, [false], 'the probe saw Automation granted');
      messages.set({ running: false, launchFails: true });
      await r.cron.advance(5 * 60_000);
      assert.deepEqual(calls.slice(3), ['probe', 'launch']);
      assert.ok(r.lines.some((l) => l.msg === 'Messages is not running and could not be launched' && l.level === 50));
      messages.set({ running: true, tcc: 'denied' });
      await r.cron.advance(5 * 60_000);
      assert.deepEqual(automation, [false, true], 'a denied Automation permission reaches health');
    } finally { await r.close(); messages.cleanup(); t.cleanup(); }
  });

  it('stats: one info line an hour with the counts of that hour, never message content', async () => {
    const t = tempDir();
    const r = rig(t.dir, { stats: '0 * * * *' }, new Date(2026, 2, 10, 10, 30).getTime());
    try {
      r.store.enqueueWithCursor([event(1, 'message', 'my secret plans'), event(2, 'from_me', 'other secret')], 'chatdb', '{}');
      r.store.receiveCommands([send(1, randomUUID())]);
      await r.cron.advance(HOUR);
      r.store.enqueueWithCursor([event(3)], 'chatdb', '{}');
      await r.cron.advance(HOUR);
      const stats = r.lines.filter((l) => l.msg === 'stats');
      assert.equal(stats.length, 2);
      assert.equal(stats[0]!.level, 30);
      assert.deepEqual([stats[0]!['events'], stats[0]!['unacked'], stats[0]!['commands'], stats[0]!['minutes']], [2, 2, { received: 1 }, 30]);
      assert.deepEqual([stats[1]!['events'], stats[1]!['unacked'], stats[1]!['minutes']], [1, 3, 60]);
      assert.doesNotMatch(JSON.stringify(stats), /secret|hello/);
    } finally { await r.close(); t.cleanup(); }
  });
});
