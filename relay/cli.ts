// Command dispatch: the one composition root for everything a user runs.
import { asRelayError } from './errors.js';
import { DEMO_USAGE, demoCommand } from './cli/demo.js';
import { processIo, UsageError, type CliIo } from './cli/io.js';
import { SCAN_USAGE, scanCommand } from './cli/scan.js';
import { HUB_USAGE, RUN_USAGE, hubCommand, runCommand } from './cli/daemon-commands.js';
import { KEYGEN_USAGE, keygenCommand } from './cli/keygen.js';
import { LOGS_USAGE, logsCommand } from './cli/logs.js';
import { INIT_USAGE, initCommand } from './cli/init.js';
import { TUNNEL_USAGE, tunnelCommand } from './cli/tunnel-config.js';
import { INSTALL_USAGE, RESTART_USAGE, STATUS_USAGE, UNINSTALL_USAGE, installCommand, restartCommand, statusCommand, uninstallCommand } from './cli/launchd-commands.js';
import { DOCTOR_USAGE, doctorCommand } from './cli/doctor.js';
import { HUB_UNIT_USAGE, hubUnitCommand } from './cli/hub-unit.js';

const COMMANDS: Record<string, { usage: string; run: (argv: readonly string[], io: CliIo) => Promise<number> }> = {
  run: { usage: RUN_USAGE, run: runCommand },
  hub: { usage: HUB_USAGE, run: hubCommand },
  keygen: { usage: KEYGEN_USAGE, run: keygenCommand },
  init: { usage: INIT_USAGE, run: initCommand },
  tunnel: { usage: TUNNEL_USAGE, run: tunnelCommand },
  doctor: { usage: DOCTOR_USAGE, run: (argv, io) => doctorCommand(argv, io) },
  scan: { usage: SCAN_USAGE, run: scanCommand },
  logs: { usage: LOGS_USAGE, run: logsCommand },
  demo: { usage: DEMO_USAGE, run: demoCommand },
  install: { usage: INSTALL_USAGE, run: (argv, io) => installCommand(argv, io) },
  uninstall: { usage: UNINSTALL_USAGE, run: (argv, io) => uninstallCommand(argv, io) },
  restart: { usage: RESTART_USAGE, run: (argv, io) => restartCommand(argv, io) },
  status: { usage: STATUS_USAGE, run: (argv, io) => statusCommand(argv, io) },
  'hub-unit': { usage: HUB_UNIT_USAGE, run: (argv, io) => hubUnitCommand(argv, io) },
};

const USAGE = `imessage-relay <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.usage.split('\n')[0]}`).join('\n')}

Run "imessage-relay <command> --help" for details.`;

/** Runs the command line; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr(`unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr(`${(err as Error).message}\n\n${command.usage}\n`);
      return 2;
    }
    const e = asRelayError(err);
    io.stderr(`error ${e.code}: ${e.message}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
