// Runs one of our real JXA files in node:vm against the simulated Messages, answering as osascript
// does (messages-app.md §3): stdout, an `execution error: … (number)` line on stderr, an exit status.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import vm from 'node:vm';
import { AppleEventError, PathObject, messagesApplication, type SendDirect, type SendTarget } from './model.js';
import { chatsInDb, writeSentRow, type WrittenRow } from './rows.js';
import type { Scenario } from './scenario.js';

export interface JxaRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Rows the sends wrote, still to move on (sent, delivered, failed) as Messages would after returning. */
  readonly rows: readonly WrittenRow[];
}

/** What the file handed to `send` held at that moment (the send log's record of a file send). */
function fileFacts(path: string): { bytes: number; sha256: string } | null {
  try {
    const data = readFileSync(path);
    return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  } catch {
    return null;
  }
}

/** A scenario with its chats filled in from chat.db when it names none. */
export function withChats(s: Scenario): Scenario {
  return s.chats !== undefined ? s : { ...s, chats: chatsInDb(s.chatDb) };
}

/** `onRow`: told of each row the moment it is written (Messages moves it on even if the script then hangs). */
export function runJxa(file: string, argv: readonly string[], scenario: Scenario, onRow?: (row: WrittenRow) => void): JxaRun {
  const rows: WrittenRow[] = [];
  const onSend = (direct: SendDirect, to: SendTarget): void => {
    if (scenario.sendLog !== undefined) appendFileSync(scenario.sendLog, `${JSON.stringify({ t: Date.now(), direct, to, file: direct.kind === 'file' ? fileFacts(direct.value) : undefined })}\n`);
    const row = writeSentRow(scenario, direct, to);
    if (row !== null) rows.push(row);
    if (row !== null) onRow?.(row);
  };
  const stderr: string[] = [];
  const context = vm.createContext({
    Application: (name: string) => {
      if (name !== 'com.apple.MobileSMS' && name !== 'Messages') throw new AppleEventError(-1728, "Can't get application.");
      return messagesApplication(scenario, onSend);
    },
    Path: (p: string) => new PathObject(p),
    delay: (s: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000),
    console: { log: (...xs: unknown[]) => stderr.push(xs.map(String).join(' ')) },
    JSON,
  });
  let code = 0;
  let stdout = '';
  try {
    vm.runInContext(readFileSync(file, 'utf8'), context, { filename: file });
    const run = (context as { run?: (argv: string[]) => unknown }).run;
    if (typeof run !== 'function') throw new Error('the script has no run(argv)');
    const value = run([...argv]);
    if (value !== undefined) stdout = `${String(value)}\n`;
  } catch (err) {
    code = 1;
    const e = err as { errorNumber?: number; message?: string; name?: string };
    const n = typeof e.errorNumber === 'number' ? e.errorNumber : -2700;
    const shown = e instanceof AppleEventError || e.name === 'Error' ? `Error: Error: ${e.message}` : `Error: ${e.name}: ${e.message}`;
    stderr.push(`${file}: execution error: ${shown} (${n})`);
  }
  return { code, stdout, stderr: stderr.length > 0 ? `${stderr.join('\n')}\n` : '', rows };
}
