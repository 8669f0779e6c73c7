// Logs are anonymised by default: no message text, no full handle; the admin can turn content on.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { anonymiseChat, anonymiseHandle, createLogger } from '../relay/logger.js';

function capture(logContent: boolean): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const log = createLogger({ logContent, destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
  return { lines, log };
}

describe('logger', () => {
  it('shortens handles with a stable hash so one person can be followed, but not identified', () => {
    const a = anonymiseHandle('+15555550123');
    assert.match(a!, /^\+1•+23#[0-9a-f]{4}$/);
    assert.equal(anonymiseHandle('+15555550123'), a);
    assert.notEqual(anonymiseHandle('+15555550124'), a);
    assert.match(anonymiseHandle('friend@example.com')!, /^f•••@•••#[0-9a-f]{4}$/);
    assert.equal(anonymiseHandle('+15555550123', true), '+15555550123');
    assert.doesNotMatch(anonymiseChat('iMessage;-;+15555550123')!, /5555550123/);
    assert.equal(anonymiseChat('iMessage;+;chat123'), 'iMessage;+;chat123');
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
