// The scheduler: jobs fire when the (fake) clock passes the times node-cron's parser gives, one run
// of a job at a time, failures logged and retried at the next time; node-cron's own timers really
// fire; and a bad schedule in either config stops the process naming its key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getTasks } from 'node-cron';
import { parseHubConfig } from '../../relay/config/hub-config.js';
import { parseMacConfig } from '../../relay/config/mac-config.js';
import { ConfigNode } from '../../relay/config/validate.js';
import { RelayError } from '../../relay/errors.js';
import { nodeCronSource, Scheduler } from '../../relay/scheduler.js';
import { waitFor } from '../support/chatdb-env.js';
import { captureLogger, FakeClock, FakeCron } from '../support/fake-cron.js';

/** 2026-03-10 10:30:00 local time. */
const START = new Date(2026, 2, 10, 10, 30, 0).getTime();
const local = (h: number, m = 0): number => new Date(2026, 2, 10, h, m, 0).getTime();

describe('scheduler', () => {
  it('fires each job at the local times its cron expression names, as the clock passes them', async () => {
    const clock = new FakeClock(START);
    const cron = new FakeCron(clock);
    const { logger } = captureLogger();
    const runs: Record<string, number[]> = { hourly: [], quarter: [], daily: [] };
    const s = new Scheduler({
      cron, clock, logger,
      jobs: [
        { name: 'hourly', schedule: '0 * * * *', run: () => runs['hourly']!.push(clock.now()) },
        { name: 'quarter', schedule: '*/15 * * * *', run: () => runs['quarter']!.push(clock.now()) },
        { name: 'daily', schedule: '30 3 * * *', run: () => runs['daily']!.push(clock.now()) },
      ],
    });
    s.start();
    await cron.advance(3 * 3600_000);
    assert.deepEqual(runs['hourly'], [local(11), local(12), local(13)]);
    assert.deepEqual(runs['quarter'], [local(10, 45), local(11), local(11, 15), local(11, 30), local(11, 45), local(12), local(12, 15), local(12, 30), local(12, 45), local(13), local(13, 15), local(13, 30)]);
    assert.deepEqual(runs['daily'], []);
    await cron.advance(17 * 3600_000);
    assert.deepEqual(runs['daily'], [new Date(2026, 2, 11, 3, 30).getTime()]);
    await s.stop();
  });

  it('does not start a job again while it runs, and logs a failure then runs it at its next time', async () => {
    const clock = new FakeClock(START);
    const cron = new FakeCron(clock);
    const { logger, lines } = captureLogger();
    let release: () => void = () => undefined;
    let slowRuns = 0;
    let flaky = 0;
    const s = new Scheduler({
      cron, clock, logger,
      jobs: [
        { name: 'slow', schedule: '0 * * * *', run: () => { slowRuns++; return new Promise<void>((r) => { release = r; }); } },
        { name: 'flaky', schedule: '0 * * * *', run: () => { if (++flaky === 1) throw new RelayError('STORE_DISK_FULL', 'the disk is full'); return 'ok'; } },
      ],
    });
    const first = s.run('slow');
    const second = s.run('slow');
    release();
    await Promise.all([first, second]);
    assert.equal(slowRuns, 1);
    assert.ok(lines.some((l) => l.msg === 'upkeep job still running: this run is skipped' && l['job'] === 'slow'));

    s.start();
    await s.run('flaky');
    const failed = lines.filter((l) => l.msg === 'upkeep job failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!['job'], 'flaky');
    assert.equal(failed[0]!['code'], 'STORE_DISK_FULL');
    assert.equal(failed[0]!.level, 40);
    const advancing = cron.advance(3600_000);
    await waitFor(() => slowRuns === 2, 'the slow job at 11:00');
    release();
    await advancing;
    assert.equal(flaky, 2, 'the failed job ran again at its next time');
    assert.equal(lines.filter((l) => l.msg === 'upkeep job failed').length, 1);
    await s.stop();
  });

  it('stop() waits for the run in progress and disarms every job', async () => {
    const clock = new FakeClock(START);
    const cron = new FakeCron(clock);
    const { logger } = captureLogger();
    let finished = false;
    let runs = 0;
    const s = new Scheduler({ cron, clock, logger, jobs: [{ name: 'job', schedule: '0 * * * *', run: async () => { runs++; await new Promise((r) => setImmediate(r)); finished = true; } }] });
    s.start();
    assert.deepEqual(cron.armed(), ['job']);
    const running = s.run('job');
    await s.stop();
    assert.equal(finished, true, 'stop resolved only after the run ended');
    await running;
    assert.deepEqual(cron.armed(), []);
    await cron.advance(5 * 3600_000);
    assert.equal(runs, 1);
  });

  it("node-cron's own timers fire a job, and stop() removes its task", async () => {
    const { logger } = captureLogger();
    let runs = 0;
    const s = new Scheduler({ cron: nodeCronSource(logger), clock: { now: () => Date.now(), setTimeout, clearTimeout } as never, logger, jobs: [{ name: 'tick', schedule: '* * * * * *', run: () => { runs++; } }] });
    s.start();
    assert.ok([...getTasks().values()].some((t) => t.name === 'imessage-relay:tick'));
    await waitFor(() => runs >= 1, 'a run fired by node-cron', 5000);
    await s.stop();
    assert.ok(![...getTasks().values()].some((t) => t.name === 'imessage-relay:tick'));
  });
});

describe('upkeep schedules in the config', () => {
  const mac = (upkeep: unknown): unknown => parseMacConfig(ConfigNode.root({ hub: { url: 'ws://127.0.0.1:1', publicKey: 'x' }, upkeep }, '/etc/relay.json'), '/etc/relay.json');
  const hub = (upkeep: unknown): unknown => parseHubConfig(ConfigNode.root({ relays: [{ account: 'a', publicKey: 'x' }], upkeep }, '/etc/hub.json'), '/etc/hub.json', { IMESSAGE_RELAY_API_TOKEN: '0123456789abcdef' });
  const invalid = (key: string, message: RegExp) => (err: unknown): boolean =>
    err instanceof RelayError && err.code === 'CONFIG_INVALID' && err.details['key'] === key && message.test(err.message);

  it('defaults, "off" and valid expressions on both daemons', () => {
    assert.deepEqual((mac(undefined) as { upkeep: unknown }).upkeep, { prune: '0 * * * *', optimize: '30 3 * * *', stats: '0 * * * *', keepAlive: '*/5 * * * *', liveness: '*/15 * * * *' });
    assert.deepEqual((mac({ keepAlive: 'off', prune: '*/10 * * * *', stats: '0 0 * * * *' }) as { upkeep: unknown }).upkeep,
      { prune: '*/10 * * * *', optimize: '30 3 * * *', stats: '0 0 * * * *', keepAlive: null, liveness: '*/15 * * * *' });
    assert.deepEqual((hub({ optimize: 'off' }) as { upkeep: unknown }).upkeep, { prune: '0 * * * *', optimize: null, stats: '0 * * * *' });
  });

  it('a bad cron expression or an unknown job is CONFIG_INVALID naming the key', () => {
    assert.throws(() => mac({ prune: '61 * * * *' }), invalid('upkeep.prune', /"upkeep\.prune" must be a cron expression .*61 is a invalid expression for minute.*got "61 \* \* \* \*"/));
    assert.throws(() => mac({ liveness: 'every hour' }), invalid('upkeep.liveness', /must be a cron expression/));
    assert.throws(() => mac({ stats: 5 }), invalid('upkeep.stats', /a non-empty string/));
    assert.throws(() => mac({ vacuum: '0 * * * *' }), invalid('upkeep.vacuum', /one of the known keys/));
    assert.throws(() => hub({ keepAlive: '0 * * * *' }), invalid('upkeep.keepAlive', /one of the known keys/));
    assert.throws(() => hub({ optimize: '0 0 0 0 0' }), invalid('upkeep.optimize', /must be a cron expression/));
  });
});
