// The hub's upkeep, run by the real Hub on a fake clock and a fake cron: while it runs, events,
// deliveries, commands, results and files (rows and bytes) past retention are pruned hourly; what
// is still owed (an undelivered webhook, a queued command) stays; the store shrinks at the optimize;
// an hourly stats line.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { NO_TUNNEL } from '../../relay/config/tunnel-config.js';
import { FileVault } from '../../relay/hub/file-vault.js';
import { Hub } from '../../relay/hub/hub.js';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import { HubStore } from '../../relay/store/hub-store.js';
import { tempDir } from '../support/chatdb-env.js';
import { captureLogger, FakeClock, FakeCron } from '../support/fake-cron.js';

const HOUR = 3600_000;
const T0 = new Date(2026, 2, 10, 10, 30).getTime();
const ev = (seq: number, text: string) => ({ seq, type: 'event' as const, id: `message:G${seq}`, body: { kind: 'message', guid: `G${seq}`, text, chat: null, attachments: [] } });

describe('hub upkeep', () => {
  it('prunes what is past retention while the hub runs, keeps what is still owed, optimizes and logs stats hourly', async () => {
    const t = tempDir();
    const clock = new FakeClock(T0);
    const cron = new FakeCron(clock);
    const { logger, lines } = captureLogger('info');
    const relay = writeNewKeyFile(join(t.dir, 'relay.key'));
    writeNewKeyFile(join(t.dir, 'hub.key'));
    // What a day of traffic left in the store, written before the hub starts.
    const store = new HubStore(join(t.dir, 'hub.db'), () => clock.now());
    const vault = new FileVault(join(t.dir, 'files'));
    store.events.relay('alice', 'k', 'store-1');
    const big = 'y'.repeat(3000);
    store.events.ingest('alice', Array.from({ length: 600 }, (_, i) => ev(i + 1, big)), ['main']);
    store.deliveries.markDelivered('main', Array.from({ length: 599 }, (_, i) => i + 1));
    const { commands } = store.commands.createSends('alice', [{ body: { kind: 'send', text: 'a' } }, { body: { kind: 'send', text: 'b' } }], null);
    const [finished, queued] = commands.map((c) => c.id) as [string, string];
    store.events.ingest('alice', [{ seq: 601, type: 'result', id: `${finished}:delivered`, body: { command_id: finished, status: 'delivered', apple_guid: 'AG1', error: null } }], ['main']);
    const upload = await vault.save(Readable.from([Buffer.from('file bytes')]), 1024);
    store.files.addUpload(upload.id, { name: 'a.txt', mime_type: 'text/plain', bytes: upload.bytes, sha256: upload.sha256 });
    writeFileSync(vault.incomingPath('alice', 'AT1'), 'incoming bytes');
    store.files.setIncoming('alice', 'AT1', { name: 'b.jpg', mime_type: 'image/jpeg', bytes: 14, sha256: null }, 'ready', null, clock.now());
    store.close();

    const hub = new Hub({
      clock, logger, cron,
      config: {
        dataDir: t.dir, keyFile: join(t.dir, 'hub.key'), listen: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0, token: 'upkeep-test-token-0123456789', maxFileBytes: 1024 * 1024 },
        relays: [{ account: 'alice', publicKey: Buffer.from(relay.publicKey).toString('base64') }],
        webhooks: [], retentionDays: 1, tunnel: NO_TUNNEL, log: { level: 'info', file: null, logContent: false },
        link: { heartbeatMs: 10_000, deadAfterMs: 30_000, maxFrameBytes: 1024 * 1024, backoffBaseMs: 500, backoffCapMs: 30_000 },
        upkeep: { prune: '0 * * * *', optimize: '30 3 * * *', stats: '0 * * * *' },
      },
    });
    await hub.start();
    const db = new Database(join(t.dir, 'hub.db'), { readonly: true });
    const count = (sql: string): number => db.prepare(sql).pluck().get() as number;
    const snapshot = () => ({
      events: count('SELECT COUNT(*) FROM events'), deliveries: count('SELECT COUNT(*) FROM deliveries'),
      commands: count('SELECT COUNT(*) FROM commands'), results: count('SELECT COUNT(*) FROM command_results'), files: count('SELECT COUNT(*) FROM files'),
      uploadBytes: existsSync(join(t.dir, 'files', 'out', upload.id)), incomingBytes: existsSync(vault.incomingPath('alice', 'AT1')),
    });
    try {
      const before = { events: 600, deliveries: 600, commands: 2, results: 1, files: 2, uploadBytes: true, incomingBytes: true };
      assert.deepEqual(snapshot(), before);
      await cron.advance(23 * HOUR);
      assert.deepEqual(snapshot(), before, 'nothing within retention (1 day) is touched');
      await cron.advance(2 * HOUR);
      assert.deepEqual(snapshot(), { events: 1, deliveries: 1, commands: 1, results: 0, files: 0, uploadBytes: false, incomingBytes: false },
        'past retention: delivered events, their deliveries, the finished command, its result and both files (rows and bytes) are gone');
      assert.equal(db.prepare('SELECT id FROM commands').pluck().get(), queued, 'the queued command stays');
      assert.equal(db.prepare('SELECT seq FROM events').pluck().get(), 600, 'the event whose webhook is still owed stays');
      const size = (): number => count('PRAGMA page_count') - count('PRAGMA freelist_count');
      const pages = count('PRAGMA page_count');
      await cron.advance(17 * HOUR);
      const optimized = lines.filter((l) => l.msg === 'store optimized').at(-1);
      assert.ok(optimized !== undefined && (optimized['freedPages'] as number) > 300, JSON.stringify(optimized));
      assert.ok(count('PRAGMA page_count') < pages / 5, `the file shrank (${pages} → ${count('PRAGMA page_count')} pages)`);
      assert.ok(size() > 0);
      const stats = lines.filter((l) => l.msg === 'stats');
      assert.equal(stats.length, 42, 'one stats line an hour');
      assert.deepEqual([stats[0]!['events_stored'], stats[0]!['events'], stats[0]!['commands'], stats[0]!['relays_connected']], [600, 600, { queued: 1, delivered: 1 }, 0]);
      assert.deepEqual([stats.at(-1)!['events_stored'], stats.at(-1)!['events'], stats.at(-1)!['files']], [1, 0, 0]);
      assert.doesNotMatch(JSON.stringify(stats), /yyyy/);
    } finally {
      db.close();
      await hub.stop();
      assert.deepEqual(cron.armed(), [], 'stop disarms the jobs');
      t.cleanup();
    }
  });
});
