// The tunnel's restart: the admin's argv(s) (`wg-quick down` then `up` through sudo, a launchd
// kickstart, a script) run one after the other with execFile, never a shell of ours.
import { RelayError } from '../errors.js';
import { runCommand, type RunCommand } from '../run-command.js';

/** Restarts the tunnel. @throws RelayError TUNNEL_RESTART_FAILED */
export type RestartTunnel = () => Promise<void>;

/**
 * A restart running each argv in turn. Every one runs even when an earlier one failed (`wg-quick
 * down` of an interface already gone fails, and `up` is what matters); the restart succeeded when the
 * last one exited 0.
 * @throws RelayError TUNNEL_RESTART_FAILED naming the last command and what it printed
 */
export function restartTunnel(commands: readonly (readonly string[])[], run: RunCommand = runCommand, timeoutMs = 60_000): RestartTunnel {
  if (commands.length === 0 || commands.some((c) => c.length === 0)) throw new RelayError('TUNNEL_RESTART_FAILED', 'no restart command configured');
  return async () => {
    let last = null as null | { argv: readonly string[]; exitCode: number | null; signal: string | null; timedOut: boolean; stderr: string };
    for (const argv of commands) {
      const [file, ...args] = argv as [string, ...string[]];
      const r = await run(file, args, { timeoutMs });
      last = { argv, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, stderr: r.stderr.trim() };
    }
    if (last === null || last.exitCode === 0) return;
    const shown = last.argv.join(' ');
    const why = last.timedOut ? `did not finish within ${timeoutMs} ms` : `failed (exit ${last.exitCode ?? last.signal ?? '?'})`;
    throw new RelayError('TUNNEL_RESTART_FAILED', `\`${shown}\` ${why}: ${last.stderr.slice(0, 300)}`.replace(/: $/, ''), { command: shown, exit: last.exitCode });
  };
}
