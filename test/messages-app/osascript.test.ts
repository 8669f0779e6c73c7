// Our static JXA files, run by our runner through the fake osascript (the real file in node:vm
// against a mock of Messages), with every failure mode mapped to a stable code.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { RelayError } from '../../relay/errors.js';
import { osaError, runScript, SCRIPTS_DIR } from '../../relay/messages-app/osascript.js';
import { decodeAttributedBody } from '../../relay/typedstream/attributed-body.js';
import { FakeMessages } from '../support/fake-messages.js';

const DM = 'iMessage;-;+15555550123';

async function rejects(p: Promise<unknown>, code: string): Promise<RelayError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RelayError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('applescript/ files', () => {
  it('each parses as JavaScript and defines run(argv), with no user data spliced into code', () => {
    const files = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.js'));
    assert.deepEqual(files.sort(), ['launch.js', 'probe.js', 'send-file.js', 'send-to-chat.js', 'send-to-handle.js']);
    for (const f of files) {
      const src = readFileSync(join(SCRIPTS_DIR, f), 'utf8');
      const ctx = vm.createContext({});
      new vm.Script(src, { filename: f }).runInContext(ctx);
      assert.equal(typeof (ctx as { run?: unknown }).run, 'function', `${f} defines run`);
      assert.doesNotMatch(src, /\beval\(|new Function|doShellScript/, `${f} runs no code built from data`);
    }
  });
});

describe('running scripts through osascript (fake Messages)', () => {
  const m = new FakeMessages();
  before(() => {
    m.db.chat({ guid: DM, identifier: '+15555550123', participants: ['+15555550123'] });
  });
  after(() => m.cleanup());

  it('sends to a chat by guid: the row appears in chat.db and moves on to delivered', async () => {
    m.set({ chats: [DM], sentAfterMs: 50, finalAfterMs: 50 });
    assert.deepEqual(await runScript('send-to-chat', { chat: DM, text: 'hello there' }, m.options()), { ok: true });
    const row = m.db.db.prepare("SELECT ROWID AS rowid, text, is_from_me, is_sent FROM message WHERE text = 'hello there'").get() as { rowid: number; is_from_me: number; is_sent: number };
    assert.equal(row.is_from_me, 1);
    for (let i = 0; i < 100; i++) {
      const r = m.db.db.prepare('SELECT is_sent, is_delivered FROM message WHERE ROWID = ?').get(row.rowid) as { is_sent: number; is_delivered: number };
      if (r.is_delivered === 1) break;
      await new Promise((res) => setTimeout(res, 30));
    }
    assert.deepEqual(m.db.db.prepare('SELECT is_sent, is_delivered FROM message WHERE ROWID = ?').get(row.rowid), { is_sent: 1, is_delivered: 1 });
  });

  it('maps each failure to its code: not found, Automation denied, not running, timeout', async () => {
    m.set({ chats: [DM] });
    const nf = await rejects(runScript('send-to-chat', { chat: 'iMessage;-;+19999999999', text: 'x' }, m.options()), 'OSA_NOT_FOUND');
    assert.equal(nf.details['number'], -1728);
    assert.equal(nf.details['ambiguous'], false);
    m.set({ chats: [DM], tcc: 'denied' });
    const denied = await rejects(runScript('send-to-chat', { chat: DM, text: 'x' }, m.options()), 'OSA_AUTOMATION_DENIED');
    assert.match(denied.message, /Privacy & Security → Automation/);
    m.set({ chats: [DM], running: false, launchFails: true });
    await rejects(runScript('send-to-chat', { chat: DM, text: 'x' }, m.options()), 'OSA_NOT_RUNNING');
    m.set({ chats: [DM], hang: 'before-row' });
    const t0 = Date.now();
    const hung = await rejects(runScript('send-to-chat', { chat: DM, text: 'x' }, m.options(1500)), 'OSA_TIMEOUT');
    assert.ok(Date.now() - t0 < 5000, 'killed at the timeout');
    assert.equal(hung.details['ambiguous'], true, 'a timed-out send must be reconciled, not retried');
    assert.equal(m.sends().filter((s) => s.direct.value === 'x').length, 0, 'none of these sent anything');
  });

  it('sends to a handle over a service (a new DM) and refuses a service it does not know', async () => {
    m.set({ chats: [DM], accounts: ['iMessage', 'SMS'] });
    assert.deepEqual(await runScript('send-to-handle', { handle: '+15550009999', service: 'iMessage', text: 'first contact' }, m.options()), { ok: true });
    assert.equal(m.db.db.prepare("SELECT COUNT(*) FROM chat WHERE guid = 'iMessage;-;+15550009999'").pluck().get(), 1);
    const bad = await rejects(runScript('send-to-handle', { handle: '+1555', service: 'any', text: 'x' }, m.options()), 'OSA_SCRIPT_ERROR');
    assert.equal(bad.details['scriptCode'], 'IMR_BAD_SERVICE');
  });

  it('sends a file by absolute path only', async () => {
    m.set({ chats: [DM] });
    const path = '/Users/test/Library/Messages/Attachments/imessage-relay/0A1B/photo.jpeg';
    await runScript('send-file', { chat: DM, path }, m.options());
    assert.equal(m.db.db.prepare('SELECT transfer_name FROM attachment WHERE filename = ?').pluck().get(path), 'photo.jpeg');
    const rel = await rejects(runScript('send-file', { chat: DM, path: 'photo.jpeg' }, m.options()), 'OSA_SCRIPT_ERROR');
    assert.equal(rel.details['scriptCode'], 'IMR_BAD_PATH');
  });

  it('probe reports running and the Automation permission without launching Messages', async () => {
    m.set({ chats: [DM], accounts: ['iMessage'] });
    assert.deepEqual(await runScript('probe', {}, m.options()), { running: true, automation: 'granted', accounts: 1, signed_in: 1 });
    m.set({ chats: [DM], accounts: ['iMessage', 'SMS'], signedOut: true });
    assert.deepEqual(await runScript('probe', {}, m.options()), { running: true, automation: 'granted', accounts: 2, signed_in: 0 });
    m.set({ chats: [DM], tcc: 'denied' });
    assert.deepEqual(await runScript('probe', {}, m.options()), { running: true, automation: 'denied', accounts: null, signed_in: null });
    m.set({ chats: [DM], running: false });
    assert.deepEqual(await runScript('probe', {}, m.options()), { running: false, automation: 'unknown', accounts: null, signed_in: null });
    assert.deepEqual(await runScript('launch', {}, m.options()), { running: true });
  });

  it('user text arrives in the chat.db row byte for byte, whatever it holds', async () => {
    m.set({ chats: [DM], outcome: 'sent' });
    const corpus = [
      'it\'s "quoted" and \\backslashed\\', '"); app.doShellScript("touch /tmp/pwned', "'); do shell script \"rm -rf ~\" --",
      'line one\nline two\r\nthree', 'tab\tseparated', 'nul\u0000inside', '👋🏽 emoji 🇫🇷 and ZWJ 👨‍👩‍👧', 'مرحبا بالعالم \u202Eevil\u202C',
      '${process.exit(1)} `backtick` $(whoami)', 'x'.repeat(10 * 1024),
    ];
    for (const text of corpus) {
      await runScript('send-to-chat', { chat: DM, text }, m.options());
      const row = m.db.db.prepare('SELECT text, attributedBody AS body FROM message ORDER BY ROWID DESC LIMIT 1').get() as { text: string; body: Buffer };
      assert.equal(row.text, text);
      assert.equal(decodeAttributedBody(row.body).text, text);
    }
    assert.deepEqual(m.sends().slice(-corpus.length).map((s) => s.direct.value), corpus);
  });
});

describe('osascript error lines', () => {
  it('keys on the trailing number whatever the prefix', () => {
    for (const line of [
      '/path/send.js: execution error: Error: Error: Can\'t get object. (-1728)',
      '0:558: execution error: Error on line 1: Error: Can\'t get object. (-1728)',
      'execution error: Error: Error: Can\'t get object. (-1728)',
    ]) assert.equal(osaError(line, 1, false).code, 'OSA_NOT_FOUND');
    assert.equal(osaError('execution error: Error: Error: AppleEvent timed out. (-1712)', 1, false).details['ambiguous'], true);
    assert.equal(osaError('execution error: Error: Error: Connection is invalid. (-609)', 1, false).code, 'OSA_CONNECTION_INVALID');
    const other = osaError('execution error: Error: Error: AppleEvent handler failed. (-10000)', 1, false);
    assert.equal(other.code, 'OSA_FAILED');
    assert.equal(other.details['number'], -10000);
  });
});
