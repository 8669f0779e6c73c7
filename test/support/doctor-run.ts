// Test support for `imessage-relay doctor`: run it in-process with this machine's deps (some
// overridden), read its lines back, and make small fake programs (wg, launchctl) that print and exit.
import { chmodSync, writeFileSync } from 'node:fs';
import { doctorCommand, systemDoctorDeps } from '../../relay/cli/doctor.js';
import type { CliIo } from '../../relay/cli/io.js';
import type { CheckResult } from '../../relay/doctor/check.js';
import type { DoctorDeps } from '../../relay/doctor/deps.js';

export interface DoctorOutput {
  readonly code: number;
  readonly out: string;
  /** The check named `name` as --json gives it. */
  line(name: string): CheckResult;
}

/** Runs `doctor <args> --json` in this process; `env` is added to the test's environment. */
export async function doctorJson(args: readonly string[], env: NodeJS.ProcessEnv = {}, deps: Partial<DoctorDeps> = {}): Promise<DoctorOutput> {
  let out = '';
  const io: CliIo = { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, logDestination: process.stderr, onInterrupt: () => undefined, offInterrupt: () => undefined };
  const code = await doctorCommand([...args, '--json'], io, { ...systemDoctorDeps({ ...process.env, IMESSAGE_RELAY_CONFIG: '', ...env }), ...deps });
  const results = JSON.parse(out) as CheckResult[];
  return {
    code, out,
    line: (name) => {
      const r = results.find((x) => x.name === name);
      if (r === undefined) throw new Error(`no "${name}" line in ${out}`);
      return r;
    },
  };
}

/** A program at `path` that prints `stdout` / `stderr` and exits with `code` (a stand-in for wg or launchctl). */
export function fakeProgram(path: string, stdout: string, code = 0, stderr = ''): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path, `#!/bin/sh\nprintf '%s' ${q(stdout)}\nprintf '%s' ${q(stderr)} >&2\nexit ${code}\n`);
  chmodSync(path, 0o755);
  return path;
}
