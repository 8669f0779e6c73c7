// `imessage-relay doctor [--config <file>] [--mac | --hub] [--json]`: one line per check with the
// exact fix for each failure; exit 1 when any failed. Builds the doctor's deps from this machine.
import { statfs } from 'node:fs/promises';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import { AGENT_LABEL } from '../doctor/launchd-check.js';
import type { DoctorDeps } from '../doctor/deps.js';
import { runDoctor } from '../doctor/doctor.js';
import { exitCode, formatJson, formatLine, formatSummary } from '../doctor/report.js';
import { probeLink } from '../link/probe.js';
import { runCommand } from '../run-command.js';
import { wgShow } from '../tunnel/wg.js';
import { UsageError, type CliIo } from './io.js';

/** `doctor --help`. */
export const DOCTOR_USAGE = `imessage-relay doctor [--config <file>] [--mac | --hub] [--json]
  Checks a relay (Mac) or a hub set-up, one line per check: ✓, or ✗ with the exact fix; exit 1 when any failed.
  The config: --config, IMESSAGE_RELAY_CONFIG, else the one init wrote (Mac: ~/Library/Application Support/
  imessage-relay/relay.json; hub: ./hub.json). Mac or hub is told from the config (or --mac / --hub).
  While the daemon runs, its /health and /metrics are read instead of dialling the hub with its key.`;

/** This machine, as the doctor sees it. */
export function systemDoctorDeps(env: NodeJS.ProcessEnv = process.env): DoctorDeps {
  return {
    env, cwd: process.cwd(), home: homedir(), now: () => Date.now(), platform: process.platform, uid: process.getuid?.() ?? 0,
    execPath: process.execPath, statfs: (p) => statfs(p), wg: (command) => wgShow(command), probeLink, run: runCommand,
    launchctl: '/bin/launchctl', agentLabel: AGENT_LABEL, timeoutMs: 5000, osascriptTimeoutMs: 15_000,
  };
}

/** Runs the doctor and prints its lines (or --json); resolves with 1 when any check failed. `base`: this machine unless a test says otherwise. */
export async function doctorCommand(argv: readonly string[], io: CliIo, base: DoctorDeps = systemDoctorDeps()): Promise<number> {
  const { values } = parseArgs({
    args: [...argv], strict: true,
    options: { config: { type: 'string' }, mac: { type: 'boolean' }, hub: { type: 'boolean' }, json: { type: 'boolean' } },
  });
  if (values.mac === true && values.hub === true) throw new UsageError('--mac and --hub exclude each other');
  const side = values.hub === true ? 'hub' : values.mac === true ? 'mac' : null;
  const json = values.json === true;
  const deps: DoctorDeps = json ? base : { ...base, onResult: (r) => io.stdout(formatLine(r)) };
  const run = await runDoctor(values.config, side, deps);
  io.stdout(json ? formatJson(run.results) : formatSummary(run.results));
  return exitCode(run.results);
}
