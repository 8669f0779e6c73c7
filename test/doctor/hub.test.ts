// `imessage-relay doctor` on the hub: a stopped hub (hub.db read instead), dead letters (from hub.db,
// then from the running hub's /health), a webhook receiver that does not answer, a token file and a
// key file others may read.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../relay/cli.js';
import { HubStore } from '../../relay/store/hub-store.js';
import { doctorJson } from '../support/doctor-run.js';
import { freePort, runCli } from '../support/processes.js';
import { RelayEnv } from '../support/relay-env.js';

describe('doctor on the hub', () => {
  const env = new RelayEnv();
  before(() => env.prepare());
  after(() => env.close());

  function variant(name: string, change: (c: Record<string, unknown>) => void): string {
    const c = JSON.parse(readFileSync(env.hubConfig, 'utf8')) as Record<string, unknown>;
    change(c);
    const file = join(env.dir, name);
    writeFileSync(file, JSON.stringify(c));
    return file;
  }

  it('a stopped hub: ✗ hub with how to start it; relays skipped (never seen); no hub.db yet; exit 1', async () => {
    const r = await runCli(['doctor', '--config', env.hubConfig]);
    assert.equal(r.code, 1, r.stderr);
    const names = r.stdout.split('\n').filter((l) => /^[✓✗–] /.test(l)).map((l) => l.slice(0, l.indexOf(' — ')));
    assert.deepEqual(names, ['✓ config', '✓ key file', '✗ hub', '– relays', '✓ webhooks', '✓ dead letters', '– tunnel', '✓ disk space']);
    assert.ok(r.stdout.includes(`✗ hub — not running: nothing answered at http://127.0.0.1:${env.apiPort}/health (ECONNREFUSED)\n    fix: start it: imessage-relay hub --config ${env.hubConfig} (or the service that runs it); its log says why it stopped (imessage-relay logs --config ${env.hubConfig})\n`), r.stdout);
    assert.ok(r.stdout.includes('– relays — skipped: the hub is not running (alice never seen)\n'), r.stdout);
    assert.ok(r.stdout.includes(`✓ dead letters — none: ${join(env.dir, 'hub', 'hub.db')} not made yet (the hub has not run) (hub.db)\n`), r.stdout);
    assert.match(r.stdout, /\n1 of 6 checks failed \(2 skipped\)\n$/);
  });

  it('dead letters in hub.db while the hub is stopped: ✗ with the count per webhook and how to retry them', async () => {
    const now = Date.now();
    const store = new HubStore(join(env.dir, 'hub', 'hub.db'), () => now);
    store.events.relay('alice', 'KEY', 'store-1');
    const chat = { guid: 'iMessage;-;+1555', identifier: '+1555', name: null, is_group: false, participants: ['+1555'] };
    const r = store.events.ingest('alice', [{ seq: 1, type: 'event', id: 'message:G1', body: { kind: 'message', guid: 'G1', chat, service: 'iMessage', date: '2026-01-01T00:00:00.000Z' } }], ['main']);
    store.deliveries.markFailed('main', r.inserted[0]!.seq, 'HTTP 500', now, true);
    store.close();
    const d = await doctorJson(['--config', env.hubConfig]);
    assert.equal(d.code, 1);
    assert.deepEqual(d.line('dead letters'), {
      name: 'dead letters', status: 'fail', source: 'hub.db',
      detail: '1 webhook deliveries gave up and are parked (main: 1), 0 waiting',
      fix: `look at them (curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${env.apiPort}/v1/dead-letters), fix the receiver, then put each back: POST http://127.0.0.1:${env.apiPort}/v1/dead-letters/{hook}/{seq}/retry`,
    });
    assert.match(d.line('relays').detail, /^the hub is not running \(alice last seen \d+ s ago\)$/);
  });

  it('the same dead letter while the hub runs: ✗ from its /health; the receivers still ✓ (they answer)', async () => {
    await env.startHub();
    try {
      const d = await doctorJson(['--config', env.hubConfig]);
      assert.equal(d.code, 1);
      assert.deepEqual(d.line('hub'), { name: 'hub', status: 'ok', source: 'hub /health', fix: null, detail: `running: http://127.0.0.1:${env.apiPort}/health says degraded` });
      assert.equal(d.line('dead letters').source, 'hub /health');
      assert.equal(d.line('dead letters').detail, '1 webhook deliveries gave up and are parked, 0 waiting');
      assert.equal(d.line('webhooks').status, 'ok');
      assert.equal(d.line('relays').detail, '1 of 1 not connected: alice');
    } finally {
      await env.hub!.stop();
    }
  });

  it('a webhook receiver that does not answer: ✗ naming it (without its query string)', async () => {
    const port = await freePort();
    const file = variant('dead-hook.json', (c) => {
      const [hook] = c['webhooks'] as Array<Record<string, unknown>>;
      c['webhooks'] = [{ ...hook, url: `http://127.0.0.1:${port}/hook?key=secret` }];
    });
    const d = await doctorJson(['--config', file]);
    assert.deepEqual(d.line('webhooks'), {
      name: 'webhooks', status: 'fail', source: null,
      detail: `not answering: main http://127.0.0.1:${port}/hook: ECONNREFUSED`,
      fix: `start the receiver there (or renew its certificate), or correct webhooks[].url in ${file} and restart the hub; events wait and are retried meanwhile`,
    });
  });

  it('a token file others may read: ✗ config naming api.tokenFile and chmod 600', async () => {
    const token = join(env.dir, 'keys', 'token');
    chmodSync(token, 0o644);
    try {
      const d = await doctorJson(['--config', env.hubConfig]);
      assert.equal(d.code, 1);
      assert.deepEqual(d.line('config'), {
        name: 'config', status: 'fail', source: null,
        detail: `CONFIG_INVALID: ${env.hubConfig}: "api.tokenFile" must be a file only its owner can read (chmod 600 ${token}); got "mode 644"`,
        fix: `chmod 600 ${token}`,
      });
      assert.equal(d.line('hub').detail, 'needs a valid config');
    } finally { chmodSync(token, 0o600); }
  });

  it('--mac with --hub is a bad command line: the usage, exit 2', async () => {
    let err = '';
    const io = { stdout: () => undefined, stderr: (t: string) => { err += t; }, logDestination: process.stderr, onInterrupt: () => undefined, offInterrupt: () => undefined };
    assert.equal(await main(['doctor', '--config', env.hubConfig, '--mac', '--hub'], io), 2);
    assert.match(err, /^--mac and --hub exclude each other\n\nimessage-relay doctor \[--config <file>\]/);
  });

  it('the hub key others may read: ✗ key file, chmod 600', async () => {
    const key = join(env.dir, 'keys', 'hub.key');
    chmodSync(key, 0o640);
    try {
      const d = await doctorJson(['--config', env.hubConfig, '--hub']);
      assert.deepEqual(d.line('key file'), {
        name: 'key file', status: 'fail', source: null,
        detail: `KEY_PERMISSIONS: ${key} is readable by others (mode 640): run chmod 600 ${key}`, fix: `chmod 600 ${key}`,
      });
    } finally { chmodSync(key, 0o600); }
  });
});
