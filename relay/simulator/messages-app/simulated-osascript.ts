// The simulated Messages as the daemon's `runScript` (the demo, off macOS): our real JXA files run
// in-process in node:vm, osascript's answers are turned into results or coded errors exactly as the
// real runner does, and Messages' later updates (sent, delivered) follow on timers.
import { join } from 'node:path';
import { RelayError } from '../../errors.js';
import { OsaCode, SCRIPTS_DIR, osaError, type ScriptName } from '../../messages-app/osascript.js';
import { advanceRows } from './after-send.js';
import { runJxa, withChats } from './run-jxa.js';
import type { Scenario } from './scenario.js';

export function simulatedRunScript(scenario: Scenario): (name: ScriptName, args: Record<string, string>) => Promise<Record<string, unknown>> {
  return async (name, args) => {
    const r = runJxa(join(SCRIPTS_DIR, `${name}.js`), [JSON.stringify(args)], withChats(scenario));
    void advanceRows(scenario, r.rows).catch(() => undefined);
    if (r.code !== 0) throw osaError(r.stderr, r.code, false);
    try {
      return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    } catch {
      throw new RelayError(OsaCode.NoOutput, `the simulated osascript answered ${JSON.stringify(r.stdout.slice(0, 200))}`, { number: null, ambiguous: true });
    }
  };
}
