// Upkeep as the real daemons run it (child processes, node-cron's own timers, schedules from the
// config files): both log their stats line on schedule; the Mac's liveness job and /health say when
// nothing has come in for quietMinutes while the link is up, and stop saying so when a message arrives.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/chatdb-env.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';

describe('upkeep in the running daemons', () => {
  const env = new RelayEnv();
  before(async () => {
    await env.prepare({
      // 6 s of quiet is "too long"; stats and liveness every second.
      macExtra: { quietMinutes: 0.1, upkeep: { stats: '* * * * * *', liveness: '* * * * * *', keepAlive: 'off' } },
      hubExtra: { upkeep: { stats: '* * * * * *' } },
      webhook: false,
    });
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    await env.startLinked();
  });
  after(() => env.close());

  it('both daemons log a stats line on the schedule their config gives', async () => {
    const mac = await env.mac!.waitForLog(/^stats$/);
    const hub = await env.hub!.waitForLog(/^stats$/);
    assert.equal(typeof mac['unacked'], 'number');
    assert.equal(typeof mac['outbox_rows'], 'number');
    assert.equal(typeof hub['events_stored'], 'number');
    await waitFor(() => env.hub!.lines.some((l) => l.msg === 'stats' && l['relays_connected'] === 1), 'a hub stats line with the relay connected', 10_000);
    await waitFor(() => env.mac!.lines.some((l) => l.msg === 'stats' && l['link_up'] === true), 'a relay stats line with the link up', 10_000);
  });

  it('liveness: quiet past quietMinutes with the link up is logged and on /health; a message clears it', async () => {
    const warned = await env.mac!.waitForLog(/no incoming message for/, 20_000);
    assert.equal(warned.level, 40);
    assert.equal(warned['code'], 'INBOUND_QUIET');
    const h = await env.health();
    assert.equal(h.status, 503);
    assert.equal(h.body.components['inbound']?.state, 'degraded');
    assert.equal((h.body.components['inbound'] as { code?: string }).code, 'INBOUND_QUIET');
    assert.equal(h.body.components['link']?.state, 'ok');
    env.writer.insert({ chat: DM, handle: ALICE, text: 'are you there?' });
    await env.mac!.waitForLog(/^incoming messages again$/, 15_000);
    const again = await env.health();
    assert.equal(again.body.components['inbound']?.state, 'ok');
  });
});
