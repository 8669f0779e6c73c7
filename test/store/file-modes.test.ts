// What the daemons leave on disk is their user's alone, whatever the umask: relay.db, hub.db, their
// -wal and -shm, the log files and the log secret 0600; the data and log folders 0700. Run with
// umask 000 (the children inherit it), where SQLite alone would make its files 0644 and folders 0777.
// The Mac's log tags a handle with the hash keyed by that secret, not a plain hash anyone can redo.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { handleAnonymiser, loadLogSecret } from '../../relay/logger.js';
import { waitFor } from '../support/chatdb-env.js';
import { nearbyNumbers, plainHashMatches } from '../support/handle-guess.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8).padStart(3, '0');

describe('file modes', () => {
  it('stores, logs and the log secret are 0600 and their folders 0700 with umask 000; handles in logs carry a keyed tag', async () => {
    const old = process.umask(0);
    const env = new RelayEnv();
    try {
      await env.prepare({ macExtra: { log: { level: 'debug', file: join(env.dir, 'mac', 'logs', 'relay.log') } } });
      assert.equal(mode(join(env.dir, 'hub')), '777', 'the hub folder the test made is wide open before the hub starts');
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      await env.startLinked();
      const row = env.writer.insert({ chat: DM, handle: ALICE, text: 'hello' });
      await waitFor(() => env.receiver.received.some((r) => r.body.event['guid'] === row.guid), 'the message at the webhook', 15_000);

      const seen: Record<string, string> = {};
      for (const [side, db] of [['hub', 'hub.db'], ['mac', 'relay.db']] as const) {
        const dir = join(env.dir, side);
        seen[side] = mode(dir);
        for (const f of [db, `${db}-wal`, `${db}-shm`]) {
          assert.ok(existsSync(join(dir, f)), `${side}/${f} exists while running`);
          seen[`${side}/${f}`] = mode(join(dir, f));
        }
        seen[`${side}/logs`] = mode(join(dir, 'logs'));
        for (const f of readdirSync(join(dir, 'logs')).filter((n) => n.endsWith('.log') && n !== 'current.log')) seen[`${side}/logs/${f}`] = mode(join(dir, 'logs', f));
      }
      seen['mac/log.secret'] = mode(join(env.dir, 'mac', 'log.secret'));
      for (const [path, m] of Object.entries(seen)) {
        const folder = path === 'hub' || path === 'mac' || path.endsWith('/logs');
        assert.equal(m, folder ? '700' : '600', `${path} is ${m}`);
      }
      assert.ok(Object.keys(seen).some((p) => p.startsWith('mac/logs/')) && Object.keys(seen).some((p) => p.startsWith('hub/logs/')), 'log files checked');

      // The debug line for that message: the sender is tagged with the hash keyed by mac/log.secret.
      const line = await env.mac!.waitForLog(/^event read$/);
      const expected = handleAnonymiser(loadLogSecret(join(env.dir, 'mac'))).handle(ALICE);
      assert.equal(line['sender'], expected);
      assert.doesNotMatch(env.mac!.stdout, /5555550123/);
      assert.deepEqual(plainHashMatches(String(line['sender']), nearbyNumbers()), [], 'no number of that shape has a plain SHA-256 matching the tag');
    } finally {
      process.umask(old);
      await env.close();
    }
  });
});
