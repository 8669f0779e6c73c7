// The watcher's schedule under a fake clock: the steady poll interval, an immediate poll when more
// rows wait, a poll at the settle deadline, file events, and the backoff after failures, each to
// the millisecond.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { watch } from 'node:fs';
import { ChatDbWatcher, type WatcherOptions } from '../../relay/chatdb/watcher.js';
import type { PollOutcome } from '../../relay/chatdb/reader.js';
import { RelayError } from '../../relay/errors.js';
import { silentLogger } from '../../relay/logger.js';
import { tempDir } from '../support/chatdb-env.js';
import { FakeClock } from '../support/fake-clock.js';

const OK: PollOutcome = { ok: true, emitted: 0, nextDeadline: null, more: false };
const FAIL: PollOutcome = { ok: false, error: new RelayError('CHATDB_LOCKED', 'locked') };

/** A watcher on a real (empty) Messages directory, a fake fs.watch the test fires, and polls timed by the fake clock. */
function setUp(outcomes: (n: number, now: number) => PollOutcome, options: Partial<WatcherOptions> = {}) {
  const tmp = tempDir();
  mkdirSync(join(tmp.dir, 'Messages'));
  const clock = new FakeClock();
  const polls: number[] = [];
  const fsWatcher = Object.assign(new EventEmitter(), { close: () => undefined });
  const fakeWatch = (() => fsWatcher) as unknown as typeof watch;
  const watcher = new ChatDbWatcher({
    path: join(tmp.dir, 'Messages', 'chat.db'), clock, logger: silentLogger(), watch: fakeWatch,
    options: { pollIntervalMs: 700, backoffInitialMs: 100, backoffMaxMs: 500, eventDelayMs: 2, eventRecheckMs: 25, ...options },
    poll: () => { polls.push(clock.now()); return outcomes(polls.length, clock.now()); },
  });
  const start = clock.now();
  /** Poll times relative to the start. */
  const at = (): number[] => polls.map((t) => t - start);
  return { clock, watcher, fsWatcher, at, cleanup: () => { watcher.stop(); tmp.cleanup(); } };
}

describe('chat.db watcher schedule (fake clock)', () => {
  it('polls at start and then exactly every pollIntervalMs while nothing happens (a deaf watcher costs no messages)', () => {
    const s = setUp(() => OK);
    try {
      s.watcher.start();
      assert.deepEqual(s.at(), [0], 'the first poll runs inside start()');
      s.clock.advance(699);
      assert.deepEqual(s.at(), [0], 'not before the interval');
      s.clock.advance(1);
      assert.deepEqual(s.at(), [0, 700]);
      s.clock.advance(2100);
      assert.deepEqual(s.at(), [0, 700, 1400, 2100, 2800]);
      assert.equal(s.watcher.events, 0);
    } finally { s.cleanup(); }
  });

  it('polls again at once while the reader says more rows wait, then back to the interval', () => {
    const s = setUp((n) => ({ ...OK, more: n >= 2 && n <= 4 }));
    try {
      s.watcher.start();
      s.clock.advance(700);
      s.clock.advance(0);
      assert.deepEqual(s.at(), [0, 700, 700, 700, 700], 'three pages read back to back');
      s.clock.advance(699);
      assert.equal(s.at().length, 5);
      s.clock.advance(1);
      assert.deepEqual(s.at().slice(5), [1400]);
    } finally { s.cleanup(); }
  });

  it('polls at the settle deadline the reader gives, not a poll interval later', () => {
    const s = setUp((n, now) => ({ ...OK, nextDeadline: n === 1 ? now + 37 : null }));
    try {
      s.watcher.start();
      s.clock.advance(36);
      assert.deepEqual(s.at(), [0]);
      s.clock.advance(1);
      assert.deepEqual(s.at(), [0, 37]);
      s.clock.advance(700);
      assert.deepEqual(s.at(), [0, 37, 737]);
    } finally { s.cleanup(); }
  });

  it('a file event polls after eventDelayMs and looks again after eventRecheckMs', () => {
    const s = setUp(() => OK);
    try {
      s.watcher.start();
      s.clock.advance(100);
      s.fsWatcher.emit('change', 'change', 'chat.db-wal');
      s.fsWatcher.emit('change', 'change', 'chat.db-wal');
      s.fsWatcher.emit('change', 'change', 'unrelated.txt');
      assert.equal(s.watcher.events, 2, 'only chat.db and its WAL/SHM count');
      s.clock.advance(1);
      assert.deepEqual(s.at(), [0]);
      s.clock.advance(1);
      assert.deepEqual(s.at(), [0, 102], 'a burst of events makes one poll');
      s.clock.advance(23);
      assert.deepEqual(s.at(), [0, 102, 125], 'and one second look');
      s.clock.advance(700);
      assert.deepEqual(s.at(), [0, 102, 125, 825], 'then the interval from the last poll');
    } finally { s.cleanup(); }
  });

  it('backs off after failed polls (doubling up to the cap) and returns to the interval after a success', () => {
    const s = setUp((n) => (n <= 6 || n === 9 || n === 10 ? FAIL : OK));
    try {
      s.watcher.start();
      for (let i = 0; i < 10; i++) s.clock.runNext();
      const at = s.at();
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      assert.deepEqual(gaps, [100, 200, 400, 500, 500, 500, 700, 700, 100, 200],
        'backoff 100, 200, 400, capped at 500; then the interval; a later outage starts again at 100');
    } finally { s.cleanup(); }
  });

  it('stop() cancels every timer: no poll after it', () => {
    const s = setUp((n, now) => ({ ...OK, nextDeadline: now + 10, more: n === 1 }));
    try {
      s.watcher.start();
      s.fsWatcher.emit('change', 'change', 'chat.db');
      s.watcher.stop();
      assert.deepEqual(s.clock.pending(), [], 'no timer left');
      s.clock.advance(10_000);
      assert.deepEqual(s.at(), [0]);
    } finally { s.cleanup(); }
  });
});
