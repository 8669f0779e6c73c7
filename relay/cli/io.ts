// What a CLI command may touch of the process: output streams and interrupts, passed in so
// commands can run inside tests.
import type { DestinationStream } from 'pino';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where a command's logs go (stderr for interactive commands). */
  readonly logDestination: DestinationStream;
  onInterrupt(fn: () => void): void;
  offInterrupt(fn: () => void): void;
}

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// A closed pipe (`imessage-relay scan | head`) ends the command quietly instead of crashing it.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

export const processIo: CliIo = {
  stdout: (t) => { process.stdout.write(t); },
  stderr: (t) => { process.stderr.write(t); },
  logDestination: process.stderr,
  onInterrupt: (fn) => { process.on('SIGINT', fn); process.on('SIGTERM', fn); },
  offInterrupt: (fn) => { process.off('SIGINT', fn); process.off('SIGTERM', fn); },
};
