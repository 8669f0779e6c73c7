// The long-term key file: there, a key, and readable by its owner only (0600), as the daemon loads it.
import { asRelayError } from '../errors.js';
import { KeyCode, fingerprint, readKeyFile } from '../link/keys.js';
import { failed, passed, type CheckResult } from './check.js';

/**
 * `remake`: how this side makes a new key (a new key must then be pinned again on the other side).
 */
export function checkKeyFile(path: string, remake: string): CheckResult {
  const name = 'key file';
  try {
    const kp = readKeyFile(path);
    return passed(name, `${path} (mode 0600), public key ${Buffer.from(kp.publicKey).toString('base64')}, fingerprint ${fingerprint(kp.publicKey)}`);
  } catch (err) {
    const e = asRelayError(err, KeyCode.Unreadable);
    const fix = e.code === KeyCode.TooOpen ? `chmod 600 ${path}`
      : `restore the key file from a backup, or make a new one (${remake}) and pin its public key on the other side again`;
    return failed(name, `${e.code}: ${e.message}`, fix);
  }
}
