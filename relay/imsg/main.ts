// Entry point of `imsg-relay` (bin/imsg-relay runs it bundled into dist/imsg-relay.cjs): answers the
// probes, or serves `rpc --json`. Start-up stays cheap: node:http and node:fs only, no SQLite, link,
// ws or pino, in one CommonJS file (no module graph to resolve).
import { parseArgv } from './argv.js';
import type { ImsgConfig } from './config.js';
import type { RelayError } from '../errors.js';

const invocation = parseArgv(process.argv.slice(2));
if (invocation.kind === 'print') {
  process.stdout.write(invocation.stdout);
} else if (invocation.kind === 'unknown') {
  process.stderr.write(invocation.stderr);
  process.exitCode = invocation.code;
} else {
  // Loaded only here (not with a top-level await, which a CommonJS bundle cannot hold).
  void Promise.all([import('./config.js'), import('../errors.js'), import('./rpc-server.js')]).then(([{ loadConfig }, { asRelayError }, { serveRpc }]) => {
    let config: ImsgConfig | RelayError;
    try {
      config = loadConfig(process.env);
    } catch (err) {
      config = asRelayError(err, 'IMSG_CONFIG');
    }
    // OpenClaw closes stdin, then sends SIGTERM: either way no half line, and out at once.
    process.on('SIGTERM', () => process.exit(0));
    process.on('SIGINT', () => process.exit(0));
    process.stdout.on('error', () => process.exit(0));
    serveRpc({
      input: process.stdin, config,
      writeLine: (line) => { process.stdout.write(line); },
      stderr: (line) => { process.stderr.write(line); },
      exit: (code) => process.exit(code),
    });
  });
}
