// `imessage-relay scan` as an admin runs it: a real child process over chat.db built from Apple's
// schemas and the 17 sample rows, plus --follow until interrupted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import type { RelayEvent } from '../../relay/model/events.js';
import { fixtureText, needsFixtures, type AppleSchema } from '../support/fixtures.js';
import { makeMessagesDb, tempDir, waitFor } from '../support/chatdb-env.js';
import { cliArgs, runCli } from '../support/processes.js';


const ndjson = (s: string): RelayEvent[] => s.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RelayEvent);

for (const schema of ['macos15', 'macos26'] as AppleSchema[]) {
  describe(`scan over the sample rows (${schema})`, () => {
    it('prints one event per row with the right kind and fields', { skip: needsFixtures }, async () => {
      const tmp = tempDir();
      const w = makeMessagesDb(tmp.dir, schema);
      try {
        w.db.exec(fixtureText('chat-db-sample-rows.sql'));
        const { code, stdout, stderr } = await runCli(['scan', '--db', w.path, '--after', '0', '--json', '--settle', '50']);
        assert.equal(code, 0, stderr);
        const events = ndjson(stdout);
        const by = new Map(events.map((e) => [e.rowid, e]));
        const kindOf = (rowid: number): string | undefined => by.get(rowid)?.kind;
        assert.deepEqual(events.map((e) => e.rowid), [...events.map((e) => e.rowid)].sort((a, b) => a - b), 'ROWID order');
        assert.deepEqual([50, 51, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115].map(kindOf), [
          'from_me', 'from_me', 'message', 'from_me', 'from_me', 'from_me', 'message', 'reaction', 'reaction', 'message', 'message',
          'message', 'message', 'from_me', 'group', 'group', 'message',
        ]);
        assert.ok(events.every((e) => e.backlog), 'sample rows are old: all backlog');
        const e50 = by.get(50)!;
        assert.equal(e50.kind === 'from_me' && e50.text, 'Edited message');
        const e104 = by.get(104)!;
        assert.equal(e104.kind === 'from_me' && e104.error, 22);
        const e103 = by.get(103)!;
        assert.equal(e103.kind === 'from_me' && e103.is_sent, false);
        const e105 = by.get(105)!;
        assert.ok(e105.kind === 'message' && e105.attachments.length === 1 && e105.attachments[0]!.guid === 'at_0_2E5F12C3-E649-48AA-954D-3EA67C016BCC');
        assert.ok(e105.kind === 'message' && e105.attachments[0]!.path?.startsWith('/'), 'absolute path');
        assert.ok(e105.kind === 'message' && !e105.text!.includes('\uFFFC'));
        const e106 = by.get(106)!;
        assert.deepEqual(e106.kind === 'reaction' && [e106.reaction, e106.removed, e106.target_guid], ['love', false, by.get(102)!.guid]);
        const e107 = by.get(107)!;
        assert.equal(e107.kind === 'reaction' && e107.reaction, 'emoji');
        assert.equal(e107.sender, null);
        const e108 = by.get(108)!;
        assert.equal(e108.kind === 'message' && e108.reply_to, by.get(102)!.guid);
        const e111 = by.get(111)!;
        assert.equal(e111.chat?.is_group, true);
        assert.equal(e111.chat?.name, 'Weekend crew');
        assert.equal(e111.chat?.participants.length, 3);
        const e112 = by.get(112)!;
        assert.deepEqual(e112.kind === 'from_me' && e112.mentions, [{ handle: '+15558675309', text: 'Dad' }]);
        const e113 = by.get(113)!;
        assert.equal(e113.kind === 'group' && e113.action, 'renamed');
        const e114 = by.get(114)!;
        assert.equal(e114.kind === 'group' && e114.action, 'member_added');
        assert.equal(by.get(115)!.service, 'SMS');
        // Every field of the public format is present on every event (null when unknown), and no other.
        const common = ['kind', 'rowid', 'guid', 'date', 'service', 'sender', 'chat', 'backlog'];
        const message = [...common, 'text', 'attachments', 'reply_to', 'mentions', 'decode_error', 'truncated'];
        const fields: Record<string, string[]> = {
          message, from_me: [...message, 'is_sent', 'error', 'command_id'],
          reaction: [...common, 'reaction', 'emoji', 'removed', 'target_guid', 'target_part'], group: [...common, 'action', 'name', 'member'],
        };
        for (const e of events) assert.deepEqual(Object.keys(e).sort(), [...fields[e.kind]!].sort(), `fields of ${e.kind} #${e.rowid}`);
      } finally {
        w.close(); tmp.cleanup();
      }
    });
  });
}

describe('scan --follow', () => {
  it('prints rows as they arrive and exits 0 on SIGINT', async () => {
    const tmp = tempDir();
    const w = makeMessagesDb(tmp.dir, 'minimal');
    w.chat({ guid: 'iMessage;-;+15550001', identifier: '+15550001', participants: ['+15550001'] });
    const child = spawn(process.execPath, [...cliArgs(), 'scan', '--db', w.path, '--follow', '--settle', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    try {
      await waitFor(() => err.includes('watching'), 'scan to start watching', 10_000);
      w.insert({ chat: 'iMessage;-;+15550001', handle: '+15550001', text: 'are you there?' });
      await waitFor(() => out.includes('are you there?'), 'the row in scan output', 8000);
      assert.match(out, /^#1 .* message +iMessage;-;\+15550001 from \+15550001: "are you there\?"/m);
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      w.close(); tmp.cleanup();
    }
  });

  it('says what is wrong when chat.db cannot be opened', async () => {
    const { code, stderr } = await runCli(['scan', '--db', '/nonexistent/Messages/chat.db']);
    assert.equal(code, 1);
    assert.match(stderr, /CHATDB_NOT_FOUND/);
    assert.match(stderr, /Full Disk Access/);
  });

  it('says Full Disk Access is missing when the process may not read chat.db', { skip: process.getuid?.() !== 0 ? 'needs root to run the CLI as another user' : false }, async () => {
    const tmp = tempDir();
    const { chmodSync } = await import('node:fs');
    const { join } = await import('node:path');
    const w = makeMessagesDb(tmp.dir, 'minimal');
    try {
      chmodSync(tmp.dir, 0o755);
      chmodSync(join(tmp.dir, 'Messages'), 0o755);
      chmodSync(w.path, 0o600);
      const result = await runCli(['scan', '--db', w.path], { as: { uid: 65534, gid: 65534 } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /error CHATDB_NO_ACCESS: .*Full Disk Access/);
    } finally {
      w.close(); tmp.cleanup();
    }
  });

  it('refuses a bad option with the usage and exit code 2', async () => {
    const { code, stderr } = await runCli(['scan', '--after', 'soon']);
    assert.equal(code, 2);
    assert.match(stderr, /--after expects a ROWID/);
  });
});
