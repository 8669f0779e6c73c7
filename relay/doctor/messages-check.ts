// Messages through our probe JXA (never launches it): running, Automation permission for Apple
// events, an account signed in. A running daemon's own view of the permission counts too: it is
// asked for per program, and the daemon may not be the program running this check.
import { asRelayError } from '../errors.js';
import { OsaCode, runScript } from '../messages-app/osascript.js';
import { failed, passed, type CheckResult } from './check.js';

/** The osascript to run the probe with, and the daemon's `messages` component when it runs. */
export interface MessagesCheckDeps {
  readonly osascript: string;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  /** The program that needs the Automation permission (node, as launchd runs it). */
  readonly execPath: string;
  /** The running daemon's `messages` component (null: no daemon answering). */
  readonly daemon: { readonly state: string; readonly reason: string | null } | null;
}

const AUTOMATION = 'System Settings → Privacy & Security → Automation';

/** ✓ when Messages runs, takes our Apple events and has an account signed in; ✗ with the setting to change. */
export async function checkMessages(deps: MessagesCheckDeps): Promise<CheckResult> {
  const name = 'Messages';
  const allow = `allow ${deps.execPath} to control Messages in ${AUTOMATION} (if it is not listed, run \`tccutil reset AppleEvents\` and answer the prompt the next send shows)`;
  let answer: Record<string, unknown>;
  try {
    answer = await runScript('probe', {}, { osascript: deps.osascript, timeoutMs: deps.timeoutMs, ...(deps.env === undefined ? {} : { env: deps.env }) });
  } catch (err) {
    const e = asRelayError(err, OsaCode.Failed);
    if (e.code === OsaCode.TimedOut) {
      return failed(name, `osascript did not answer within ${deps.timeoutMs} ms (macOS may be waiting for someone to answer the Automation prompt)`, `on the Mac's screen, answer the prompt "… wants access to control Messages" with Allow; or ${allow}`);
    }
    if (e.code === OsaCode.AutomationDenied) return failed(name, `Automation permission denied (−1743): ${e.message}`, allow);
    return failed(name, `${e.code}: ${e.message}`, `check sender.osascript (${deps.osascript}): it must be /usr/bin/osascript on a Mac`);
  }
  if (answer['running'] !== true) {
    return failed(name, 'Messages is not running (Automation and sign-in not checked)', 'open Messages (`open -a Messages`) and leave it running, signed in; then run doctor again');
  }
  if (answer['automation'] === 'denied') return failed(name, 'Messages is running but refuses Apple events from this program (−1743): the Automation permission is denied', allow);
  const signedIn = answer['signed_in'];
  if (signedIn === 0) {
    return failed(name, `Messages is running, Automation allowed, but no account is signed in (${String(answer['accounts'])} account(s), none connected)`, 'open Messages → Settings → iMessage and sign in with the Apple ID the relay answers as (and enable the account)');
  }
  if (deps.daemon !== null && deps.daemon.state !== 'ok') {
    return failed(name, `the running daemon says: ${deps.daemon.reason ?? deps.daemon.state}`, allow, 'daemon /health');
  }
  const accounts = typeof signedIn === 'number' ? `${signedIn} account(s) signed in` : 'sign-in not readable';
  return passed(name, `running, Automation allowed, ${accounts}${deps.daemon !== null ? '; the daemon reports no refusal' : ''}`);
}
