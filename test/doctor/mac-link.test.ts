// `imessage-relay doctor` on the Mac against a real hub (and a real daemon) on loopback: a stopped
// hub, a good set-up passing by a real handshake, a hub that does not know our key, a hub whose key
// is not the pinned one, a running daemon read through its /health (never a second session), and
// a stopped daemon's relay.db used so the hub keeps what it acknowledged.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import { fingerprint, generateKeyPair, readKeyFile, writeNewKeyFile } from '../../relay/link/keys.js';
import { sleep, waitFor } from '../support/chatdb-env.js';
import { doctorJson } from '../support/doctor-run.js';
import { runCli } from '../support/processes.js';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';
import { hubFetch } from '../support/openapi-contract.js';

const MAC_LINES = ['config', 'daemon', 'key file', 'chat.db', 'Messages', 'clock', 'tunnel', 'hub link', 'disk space', 'outbox', 'launchd agent'];

/** The hub's count of handshakes whose relay proved its key (a session it registered). */
async function provenHandshakes(env: RelayEnv): Promise<number> {
  const text = await (await hubFetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text();
  return Number(/^imessage_relay_link_handshakes_total\{result="proven"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

function hubAcked(env: RelayEnv): number {
  const db = new Database(join(env.dir, 'hub', 'hub.db'), { readonly: true });
  try {
    return Number(db.prepare("SELECT acked_seq FROM relays WHERE account = 'alice'").pluck().get());
  } finally { db.close(); }
}

/** Polls an async condition until it holds. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A copy of the Mac config with some keys changed (the original stays as it is). */
function macVariant(env: RelayEnv, name: string, change: (c: Record<string, Record<string, unknown>>) => void): string {
  const c = JSON.parse(readFileSync(env.macConfig, 'utf8')) as Record<string, Record<string, unknown>>;
  change(c);
  const file = join(env.dir, name);
  writeFileSync(file, JSON.stringify(c));
  return file;
}

describe('doctor on the Mac, with a real hub', () => {
  const env = new RelayEnv();
  let fake: NodeJS.ProcessEnv;
  before(async () => {
    await env.prepare();
    fake = { FAKE_MESSAGES_SCENARIO: env.scenarioFile, IMESSAGE_RELAY_CONFIG: '' };
  });
  after(() => env.close());

  it('a stopped hub: ✗ hub link, connection refused, with the fix; clock skipped; --json is an array of every line; exit 1', async () => {
    const r = await runCli(['doctor', '--config', env.macConfig, '--json'], { env: fake });
    assert.equal(r.code, 1, r.stderr);
    const lines = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(lines.map((l) => l['name']), MAC_LINES);
    for (const l of lines) assert.deepEqual(Object.keys(l), ['name', 'status', 'detail', 'fix', 'source']);
    const link = lines.find((l) => l['name'] === 'hub link')!;
    assert.deepEqual(link, {
      name: 'hub link', status: 'fail', source: 'handshake',
      detail: `cannot reach the hub at ws://127.0.0.1:${env.hubPort}: connection refused (nothing listens there)`,
      fix: `start the hub there (imessage-relay hub --config hub.json); if it runs, check hub.url in ${env.macConfig} and the tunnel (the hub's link must listen on the address the Mac dials)`,
    });
    assert.deepEqual(lines.filter((l) => l['status'] === 'fail').map((l) => l['name']), ['hub link'], 'one cause, one ✗');
    const clock = lines.find((l) => l['name'] === 'clock')!;
    assert.equal(clock['status'], 'skip');
    assert.match(String(clock['detail']), /^the hub did not answer at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): see "hub link"$/);
  });

  it('a good set-up: every line ✓ (or skipped where it does not apply), the hub link by a real handshake the hub logged; exit 0', async () => {
    await env.startHub();
    const r = await runCli(['doctor', '--config', env.macConfig], { env: fake });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /^[✓✗–] /.test(l));
    assert.deepEqual(lines.map((l) => l.slice(2, l.indexOf(' — '))), MAC_LINES);
    assert.deepEqual(lines.filter((l) => !l.startsWith('✓')).map((l) => l.slice(2, l.indexOf(' — '))), ['daemon', 'tunnel', 'launchd agent']);
    const relayKey = readKeyFile(join(env.dir, 'keys', 'relay.key'));
    const hubKey = readKeyFile(join(env.dir, 'keys', 'hub.key'));
    assert.match(r.stdout, new RegExp(`^✓ key file — .*relay\\.key \\(mode 0600\\), public key ${Buffer.from(relayKey.publicKey).toString('base64').replace(/[+/]/g, '\\$&')}, fingerprint ${fingerprint(relayKey.publicKey)}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^✓ hub link — ws://127\\.0\\.0\\.1:${env.hubPort} welcomed this relay as "alice" in \\d+ ms \\(hub key ${fingerprint(hubKey.publicKey)} as pinned\\) \\(handshake\\)$`, 'm'));
    assert.match(r.stdout, /^✓ clock — hub (ahead|behind) by \d+\.\d s \(± \d+\.\d s\)$/m);
    assert.match(r.stdout, /^✓ Messages — running, Automation allowed, 2 account\(s\) signed in$/m);
    assert.match(r.stdout, /\nall 8 checks passed \(3 skipped\)\n$/);
    const seen = await env.hub!.waitForLog(/^relay connected$/);
    assert.equal(seen['agent'], 'imessage-relay-doctor/0.1.0', 'the hub welcomed the doctor itself');
  });

  it('the hub side while no relay is connected: ✗ relays, naming the account', async () => {
    const r = await runCli(['doctor', '--config', env.hubConfig]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^✗ relays — 1 of 1 not connected: alice \(hub \/health\)\n {4}fix: on that Mac run imessage-relay doctor: it says why its link is down/m);
  });

  it('a hub that does not know our key: ✗ refused (4003), the fix names our public key and the pairing command', async () => {
    const stranger = writeNewKeyFile(join(env.dir, 'keys', 'stranger.key'));
    const file = macVariant(env, 'stranger.json', (c) => { c['keyFile'] = join(env.dir, 'keys', 'stranger.key') as never; });
    const d = await doctorJson(['--config', file], fake);
    assert.equal(d.code, 1);
    assert.deepEqual(d.line('hub link'), {
      name: 'hub link', status: 'fail', source: 'handshake',
      detail: `ws://127.0.0.1:${env.hubPort} refused this relay's key (4003 unknown relay key)`,
      fix: `on the hub, add this Mac: imessage-relay init --hub --add-relay <the line init --mac printed> (or add {"account": "<name>", "publicKey": "${Buffer.from(stranger.publicKey).toString('base64')}"} to relays in hub.json), then restart the hub`,
    });
  });

  it('a hub whose key is not the pinned one: ✗ with both fingerprints, and no advice to trust the new key blindly', async () => {
    const pinned = generateKeyPair().publicKey;
    const file = macVariant(env, 'wrong-pin.json', (c) => { c['hub']!['publicKey'] = Buffer.from(pinned).toString('base64'); });
    const hubKey = readKeyFile(join(env.dir, 'keys', 'hub.key'));
    const d = await doctorJson(['--config', file], fake);
    assert.equal(d.code, 1);
    const link = d.line('hub link');
    assert.equal(link.status, 'fail');
    assert.equal(link.detail, `ws://127.0.0.1:${env.hubPort}: the hub presented the key ${fingerprint(hubKey.publicKey)}, not the pinned ${fingerprint(pinned)}`);
    assert.match(link.fix!, /^make sure hub\.url is your hub; if its key was made again, pair again .* compare fingerprints before you trust it$/);
  });

  it('while the daemon runs: its /health and /metrics answer, the hub sees no second session; the hub side passes', async () => {
    await env.startMac();
    await env.mac!.waitForLog(/^link up$/);
    env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
    env.writer.insert({ chat: DM, handle: ALICE, text: 'hello' });
    await waitFor(() => env.receiver.received.length === 1, 'the webhook', 15_000);
    // The receiver has the body before the hub has read its answer and closed the delivery.
    await until(async () => /^imessage_relay_webhook_backlog 0$/m.test(await (await hubFetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text()), 'the hub to close the delivery');
    await until(async () => (await env.health()).status === 200, 'the daemon healthy');
    const linkUps = (): number => env.mac!.lines.filter((l) => l.msg === 'link up').length;
    const [proven, ups] = [await provenHandshakes(env), linkUps()];
    const d = await doctorJson(['--config', env.macConfig], fake);
    assert.equal(d.code, 0, d.out);
    assert.equal(d.line('daemon').source, 'daemon /health');
    assert.deepEqual(d.line('hub link'), { name: 'hub link', status: 'ok', detail: `the daemon's link to ws://127.0.0.1:${env.hubPort} is up`, fix: null, source: 'daemon /health' });
    assert.deepEqual(d.line('outbox'), { name: 'outbox', status: 'ok', detail: '0 waiting, 0 dead letter(s)', fix: null, source: 'daemon /health, /metrics' });
    assert.equal(d.line('chat.db').source, 'daemon /health');
    // Every session the hub registered was the daemon's own (a reconnect of its own would count on both sides).
    assert.equal(await provenHandshakes(env) - proven, linkUps() - ups, 'the doctor did not dial the hub with the relay\'s key');

    const h = await runCli(['doctor', '--config', env.hubConfig]);
    assert.equal(h.code, 0, h.stdout + h.stderr);
    assert.match(h.stdout, /^✓ relays — connected: alice \(hub \/health\)$/m);
    assert.match(h.stdout, new RegExp(`^✓ webhooks — answering: main http://127\\.0\\.0\\.1:${env.hookPort}/hook \\(TCP\\)$`, 'm'));
    assert.match(h.stdout, /^✓ dead letters — none, 0 waiting \(hub \/health\)$/m);
  });

  it('the daemon refused by Messages while doctor itself is allowed: ✗ Messages from the daemon\'s /health (the permission is per program)', async () => {
    env.messages({ tcc: 'denied' });
    const res = await env.api('/v1/messages', { method: 'POST', body: JSON.stringify({ chat_guid: DM, text: 'are you there?' }) });
    assert.equal(res.status, 202);
    await until(async () => (await env.health()).body.components['messages']?.state === 'degraded', 'the daemon\'s Automation refusal');
    env.messages({ sentAfterMs: 50, finalAfterMs: 50 });
    const d = await doctorJson(['--config', env.macConfig], fake);
    assert.equal(d.code, 1);
    assert.deepEqual(d.line('Messages'), {
      name: 'Messages', status: 'fail', source: 'daemon /health',
      detail: 'the running daemon says: Messages refused Apple events: allow this program in System Settings → Privacy & Security → Automation',
      fix: `allow ${process.execPath} to control Messages in System Settings → Privacy & Security → Automation (if it is not listed, run \`tccutil reset AppleEvents\` and answer the prompt the next send shows)`,
    });
  });

  it('the daemon stopped with relay.db left: the doctor says hello with its store id, so the hub keeps what it acknowledged', async () => {
    await env.mac!.stop();
    const acked = hubAcked(env);
    assert.ok(acked >= 1, 'the hub acknowledged the message');
    const d = await doctorJson(['--config', env.macConfig], fake);
    assert.equal(d.code, 0, d.out);
    assert.equal(d.line('hub link').source, 'handshake');
    assert.deepEqual(d.line('outbox'), { name: 'outbox', status: 'ok', detail: '0 waiting, 0 dead letter(s)', fix: null, source: 'relay.db' });
    assert.equal(hubAcked(env), acked, 'a hello with another store id would have reset it to 0');
  });

  it('a running daemon whose link is down: ✗ hub link from its /health, with the reason it gives', async () => {
    await env.hub!.stop();
    await env.startMac();
    await until(async () => (await env.health().catch(() => null))?.body.components['link']?.state === 'degraded', 'the daemon\'s link down');
    const d = await doctorJson(['--config', env.macConfig], fake);
    assert.equal(d.code, 1);
    const link = d.line('hub link');
    assert.equal(link.status, 'fail');
    assert.equal(link.source, 'daemon /health');
    assert.match(link.detail, new RegExp(`^the daemon's link to ws://127\\.0\\.0\\.1:${env.hubPort} is down: link to the hub is down`));
    assert.match(link.fix!, /the daemon's log \(imessage-relay logs --config .*\) says why each dial failed$/);
  });
});
