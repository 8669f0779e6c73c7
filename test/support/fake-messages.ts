// Test support: a chat.db with a writer, a scenario for the fake osascript, and options to run our
// real JXA files through it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OsascriptOptions } from '../../relay/messages-app/osascript.js';
import type { MessagesDb } from '../../relay/simulator/messages-db.js';
import { makeMessagesDb, tempDir } from './chatdb-env.js';
import { bundledFakeOsascript } from './fake-osascript/bundle.js';
import type { Scenario } from '../../relay/simulator/messages-app/scenario.js';

/** The fake osascript, bundled to plain JS once (a spawn costs Node's start, not tsx's). */
export const FAKE_OSASCRIPT = bundledFakeOsascript();

export class FakeMessages {
  readonly dir: string;
  readonly cleanup: () => void;
  readonly db: MessagesDb;
  readonly scenarioFile: string;
  readonly sendLog: string;

  constructor() {
    const t = tempDir('imr-fake-');
    this.dir = t.dir;
    this.cleanup = () => { this.db.close(); t.cleanup(); };
    this.db = makeMessagesDb(this.dir, 'minimal');
    this.scenarioFile = join(this.dir, 'scenario.json');
    this.sendLog = join(this.dir, 'sends.ndjson');
    writeFileSync(this.sendLog, '');
  }

  /** Writes the scenario the next osascript runs will follow. */
  set(s: Omit<Scenario, 'chatDb' | 'sendLog'>): void {
    writeFileSync(this.scenarioFile, JSON.stringify({ ...s, chatDb: this.db.path, sendLog: this.sendLog }));
  }

  sends(): Array<{ direct: { kind: string; value: string }; to: Record<string, string> }> {
    return readFileSync(this.sendLog, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as never);
  }

  options(timeoutMs = 10_000): OsascriptOptions & { env: NodeJS.ProcessEnv } {
    return { osascript: FAKE_OSASCRIPT, timeoutMs, env: { FAKE_MESSAGES_SCENARIO: this.scenarioFile } };
  }
}
