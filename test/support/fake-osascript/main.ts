// The fake osascript's process: `osascript -l JavaScript <file> <args…>` → run(argv) of the real
// file in node:vm against the simulated Messages (relay/simulator/messages-app); stdout, stderr and
// exit status as osascript gives them. Messages' later updates run in a detached process, started
// as each row is written (a script that then hangs or is killed does not stop Messages).
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
// Bundled (test/support/fake-osascript/bundle.ts) the updater is plain JS beside this file; run from
// source it goes through tsx.
const bundled = !import.meta.url.endsWith('.ts');
const updater = fileURLToPath(new URL(bundled ? './updater.mjs' : './updater.ts', import.meta.url));
const r = runJxa(args[2], args.slice(3), scenario, (row) => {
  if ((scenario.outcome ?? 'delivered') === 'ghost') return;
  spawn(process.execPath, [...(bundled ? [] : ['--import', 'tsx']), updater, JSON.stringify({ scenario, rows: [row] })], { detached: true, stdio: 'ignore' }).unref();
});
process.stdout.write(r.stdout);
process.stderr.write(r.stderr);
process.exitCode = r.code;
