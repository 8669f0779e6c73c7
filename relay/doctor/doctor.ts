// `imessage-relay doctor`: finds the config, tells Mac from hub, and runs that side's checks; a bad
// config skips the rest (they all need it).
import { skipped, type CheckResult } from './check.js';
import { checkConfig, defaultConfigFiles, type Side } from './config-check.js';
import type { DoctorDeps } from './deps.js';
import { HUB_CHECKS, hubDoctor } from './hub-doctor.js';
import { MAC_CHECKS, macDoctor } from './mac-doctor.js';

/** What one doctor run found. */
export interface DoctorRun {
  /** Mac or hub, as told by --mac / --hub or by the config's keys; null when no config could be read. */
  readonly side: Side | null;
  readonly file: string | null;
  readonly results: readonly CheckResult[];
}

/** Runs every check for the config `flag` names (or the one found); never throws. */
export async function runDoctor(flag: string | undefined, side: Side | null, deps: DoctorDeps): Promise<DoctorRun> {
  const { result, loaded, side: found } = checkConfig(flag, deps.env, side, defaultConfigFiles(deps.cwd, deps.home));
  deps.onResult?.(result);
  if (loaded === null) {
    const rest = (found === 'hub' ? HUB_CHECKS : MAC_CHECKS).map((n) => skipped(n, 'needs a valid config'));
    for (const r of rest) deps.onResult?.(r);
    return { side: found, file: null, results: [result, ...rest] };
  }
  const results = loaded.side === 'mac' ? await macDoctor(loaded.config, loaded.file, deps) : await hubDoctor(loaded.config, loaded.file, deps);
  return { side: loaded.side, file: loaded.file, results: [result, ...results] };
}
