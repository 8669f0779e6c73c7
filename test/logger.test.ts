// Logs are anonymised by default: no message text, no full handle; the admin can turn content on.
// A handle's tag is a hash keyed by a per-install secret (0600 in the data folder), so nobody can
// find the number by hashing every possible one.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { handleAnonymiser, loadLogSecret, createLogger } from '../relay/logger.js';
import { tempDir } from './support/chatdb-env.js';
import { nearbyNumbers, plainHashMatches } from './support/handle-guess.js';

function capture(logContent: boolean): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const log = createLogger({ logContent, destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
  return { lines, log };
}

describe('logger', () => {
  it('shortens handles with a stable keyed tag so one person can be followed, but not identified', () => {
    const t = tempDir('imr-log-');
    try {
      const anon = handleAnonymiser(loadLogSecret(t.dir));
      const a = anon.handle('+15555550123');
      assert.match(a!, /^\+1•+23#[0-9a-f]{16}$/);
      assert.equal(anon.handle('+15555550123'), a);
      assert.notEqual(anon.handle('+15555550124'), a);
      assert.match(anon.handle('friend@example.com')!, /^f•••@•••#[0-9a-f]{16}$/);
      assert.equal(handleAnonymiser(loadLogSecret(t.dir), true).handle('+15555550123'), '+15555550123');
      assert.doesNotMatch(anon.chat('iMessage;-;+15555550123')!, /5555550123/);
      assert.equal(anon.chat('iMessage;-;+15555550123'), `iMessage;-;${a}`);
      assert.equal(anon.chat('iMessage;+;chat123'), 'iMessage;+;chat123');
    } finally {
      t.cleanup();
    }
  });

  it('keeps the secret 0600 in the data folder: the same tag after a restart, another with another secret', () => {
    const t = tempDir('imr-log-');
    const old = process.umask(0);
    try {
      const dir = join(t.dir, 'data');
      const first = handleAnonymiser(loadLogSecret(dir)).handle('+15555550123');
      const secret = join(dir, 'log.secret');
      assert.equal(statSync(secret).mode & 0o777, 0o600, 'created 0600 with umask 000');
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(readFileSync(secret).length, 32);
      // A restart reads the same file: the same tag.
      assert.equal(handleAnonymiser(loadLogSecret(dir)).handle('+15555550123'), first);
      // Another install (another secret): another tag for the same number.
      assert.notEqual(handleAnonymiser(loadLogSecret(join(t.dir, 'other'))).handle('+15555550123'), first);
      // A secret someone made readable is set back to 0600; a broken one is refused, not replaced.
      writeFileSync(secret, readFileSync(secret), { mode: 0o644 });
      assert.equal(handleAnonymiser(loadLogSecret(dir)).handle('+15555550123'), first);
      assert.equal(statSync(secret).mode & 0o777, 0o600);
      writeFileSync(secret, 'short');
      assert.throws(() => loadLogSecret(dir), (e: unknown) => (e as { code?: string }).code === 'LOG_SECRET_INVALID');
    } finally {
      process.umask(old);
      t.cleanup();
    }
  });

  it('a log line holds neither the number nor a plain SHA-256 of it: trying every number finds nothing', () => {
    const t = tempDir('imr-log-');
    try {
      const off = capture(false);
      const anon = handleAnonymiser(loadLogSecret(t.dir));
      off.log.info({ sender: anon.handle('+15555550123'), chat: anon.chat('iMessage;-;+15555550123') }, 'event read');
      const line = off.lines.join('');
      const shown = (JSON.parse(line) as { sender: string }).sender;
      assert.doesNotMatch(line, /5555550123/);
      const sha = createHash('sha256').update('+15555550123').digest('hex');
      assert.ok(!line.includes(sha.slice(0, 8)), 'no prefix of the plain SHA-256');
      assert.deepEqual(plainHashMatches(shown, nearbyNumbers()), [], 'hashing every candidate number finds no match');
    } finally {
      t.cleanup();
    }
  });

  it('censors message content fields unless logContent is on', () => {
    const off = capture(false);
    off.log.info({ text: 'my pin is 4711', event: { text: 'secret', body: 'x' } }, 'an event');
    assert.doesNotMatch(off.lines.join(''), /4711|secret/);
    assert.match(off.lines.join(''), /\[redacted\]/);
    const on = capture(true);
    on.log.info({ text: 'my pin is 4711' }, 'an event');
    assert.match(on.lines.join(''), /4711/);
  });
});
