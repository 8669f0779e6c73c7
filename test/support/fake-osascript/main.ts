// The fake osascript's process: `osascript -l JavaScript <file> <args…>` → run(argv) of the real
// file in node:vm against the simulated Messages (relay/simulator/messages-app); stdout, stderr and
// exit status as osascript gives them. Messages' later updates run in a detached process.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runJxa, withChats } from '../../../relay/simulator/messages-app/run-jxa.js';
import type { Scenario } from '../../../relay/simulator/messages-app/scenario.js';

const args = process.argv.slice(2);
if (args[0] !== '-l' || args[1] !== 'JavaScript' || args[2] === undefined) {
  process.stderr.write('fake osascript: usage: osascript -l JavaScript <file> [args…]\n');
  process.exit(2);
}
const scenario = withChats(JSON.parse(readFileSync(process.env['FAKE_MESSAGES_SCENARIO'] ?? '', 'utf8')) as Scenario);
const r = runJxa(args[2], args.slice(3), scenario);
process.stdout.write(r.stdout);
process.stderr.write(r.stderr);
if (r.rows.length > 0 && (scenario.outcome ?? 'delivered') !== 'ghost') {
  const updater = fileURLToPath(new URL('./updater.ts', import.meta.url));
  spawn(process.execPath, ['--import', 'tsx', updater, JSON.stringify({ scenario, rows: r.rows })], { detached: true, stdio: 'ignore' }).unref();
}
process.exitCode = r.code;
