// chat.db opened exactly as the reader opens it (read-only, columns probed), or the reason it cannot
// be, naming the binary that needs Full Disk Access.
import { openChatDb } from '../chatdb/connection.js';
import { ChatDbCode } from '../chatdb/errors.js';
import { asRelayError } from '../errors.js';
import { failed, passed, type CheckResult } from './check.js';
import type { ComponentView } from './health-view.js';

const FDA = 'System Settings → Privacy & Security → Full Disk Access';

function fixFor(code: string, path: string, execPath: string): string {
  return code === ChatDbCode.NoAccess
    ? `grant Full Disk Access to ${execPath} in ${FDA} (+, then ⌘⇧G and paste that path), then restart the relay`
    : code === ChatDbCode.NotFound
      ? `check chatDb in the config (${path}); open Messages once and sign in so it creates chat.db; if the file is there, grant Full Disk Access to ${execPath} in ${FDA}`
      : code === ChatDbCode.Busy ? 'run doctor again in a moment (Messages held a lock)'
        : 'point chatDb at Messages\' database (~/Library/Messages/chat.db), not a copy or another file';
}

/**
 * `execPath`: the program running this check (and, under launchd, the daemon): the one to grant.
 * `daemon`: the running daemon's `chatdb` component (it may hold Full Disk Access where this
 * process does not), or null to open chat.db here.
 */
export function checkChatDb(path: string, execPath: string, daemon: ComponentView | null = null): CheckResult {
  const name = 'chat.db';
  if (daemon !== null) {
    if (daemon.state === 'ok') return passed(name, `the daemon reads ${path}`, 'daemon /health');
    if (typeof daemon['code'] !== 'string' && daemon.reason === 'not read yet') return passed(name, `the daemon has just started and not read ${path} yet`, 'daemon /health');
    const code = typeof daemon['code'] === 'string' ? daemon['code'] : ChatDbCode.Failed;
    return failed(name, `${code}: ${daemon.reason ?? daemon.state}`, fixFor(code, path, execPath), 'daemon /health');
  }
  try {
    const conn = openChatDb(path, 2000);
    try {
      const last = conn.queries.maxRowid.get();
      return passed(name, `${path} is readable (last message ROWID ${last === null ? 'none yet' : String(last)})`);
    } finally {
      conn.close();
    }
  } catch (err) {
    const e = asRelayError(err, ChatDbCode.Failed);
    return failed(name, `${e.code}: ${e.message}`, fixFor(e.code, path, execPath));
  }
}
