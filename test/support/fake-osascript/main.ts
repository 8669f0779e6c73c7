// The fake osascript's process: `osascript -l JavaScript <file> <args…>` → run(argv) of the real
// file in node:vm; stdout/stderr/exit status as osascript gives them (messages-app.md §5.2 (9)).
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { AppleEventError, PathObject, messagesApplication, type SendDirect, type SendTarget } from './messages-model.js';
import type { Scenario } from './scenario.js';
import { chatsInDb, writeSentRow } from './rows.js';

const args = process.argv.slice(2);
if (args[0] !== '-l' || args[1] !== 'JavaScript' || args[2] === undefined) {
  process.stderr.write('fake osascript: usage: osascript -l JavaScript <file> [args…]\n');
  process.exit(2);
}
const file = args[2];
const argv = args.slice(3);
const loaded = JSON.parse(readFileSync(process.env['FAKE_MESSAGES_SCENARIO'] ?? '', 'utf8')) as Scenario;
const scenario: Scenario = loaded.chats !== undefined ? loaded : { ...loaded, chats: chatsInDb(loaded.chatDb) };

const pendingRows: Array<{ rowid: number }> = [];
const onSend = (direct: SendDirect, to: SendTarget): void => {
  if (scenario.sendLog !== undefined) appendFileSync(scenario.sendLog, `${JSON.stringify({ t: Date.now(), direct, to })}\n`);
  const row = writeSentRow(scenario, direct, to);
  if (row !== null) pendingRows.push(row);
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
let out = '';
try {
  vm.runInContext(readFileSync(file, 'utf8'), context, { filename: file });
  const run = (context as { run?: (argv: string[]) => unknown }).run;
  if (typeof run !== 'function') throw new Error('the script has no run(argv)');
  const value = run(argv);
  if (value !== undefined) out = `${String(value)}\n`;
} catch (err) {
  code = 1;
  const e = err as { errorNumber?: number; message?: string; name?: string };
  const n = typeof e.errorNumber === 'number' ? e.errorNumber : -2700;
  const shown = e instanceof AppleEventError || e.name === 'Error' ? `Error: Error: ${e.message}` : `Error: ${e.name}: ${e.message}`;
  stderr.push(`${file}: execution error: ${shown} (${n})`);
}
process.stdout.write(out);
if (stderr.length > 0) process.stderr.write(`${stderr.join('\n')}\n`);
// Messages goes on after osascript returns: sent, delivered or failed arrive later, from its own process.
if (pendingRows.length > 0 && (scenario.outcome ?? 'delivered') !== 'ghost') {
  const updater = fileURLToPath(new URL('./updater.ts', import.meta.url));
  spawn(process.execPath, ['--import', 'tsx', updater, JSON.stringify({ scenario, rows: pendingRows })], { detached: true, stdio: 'ignore' }).unref();
}
process.exitCode = code;
