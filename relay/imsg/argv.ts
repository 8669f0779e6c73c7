// The command line of `imsg-relay` as OpenClaw calls it (contract §2.1): `--db <path>` accepted and
// ignored anywhere; `rpc --json` serves JSON-RPC; `rpc --help` and `status --json` answer probes; every
// bridge-only subcommand (send-rich, poll, group, send-attachment, launch, …) is an unknown command.

/** What to do for an argument vector. */
export type Invocation =
  | { readonly kind: 'rpc' }
  | { readonly kind: 'print'; readonly stdout: string; readonly code: 0 }
  | { readonly kind: 'unknown'; readonly stderr: string; readonly code: 64 };

/** The methods `rpc --json` serves (also listed by `status --json`). */
export const RPC_METHODS = ['chats.list', 'messages.history', 'watch.subscribe', 'watch.unsubscribe', 'send'] as const;

const USAGE = `imsg-relay: OpenClaw's iMessage channel command, served by an imessage-relay hub.

usage:
  imsg-relay rpc --json       JSON-RPC 2.0 over stdin/stdout, one message per line
  imsg-relay status --json    capabilities (no private-API bridge)

methods: ${RPC_METHODS.join(', ')}
config: $IMSG_RELAY_CONFIG, else /etc/imsg-relay/config.json
`;

/** `status --json` (§2.3): basic features only, the bridge reported unavailable. */
export const STATUS = {
  basic_features: true, advanced_features: false, v2_ready: false, selectors: {}, rpc_methods: [...RPC_METHODS],
  message: 'imsg-relay: messages go through an imessage-relay hub; no private-API bridge',
};

/** Drops `--db <path>` (and `--db=<path>`): OpenClaw adds it when dbPath is set; there is no local database here. */
export function withoutDb(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--db') { i++; continue; }
    if (argv[i]!.startsWith('--db=')) continue;
    out.push(argv[i]!);
  }
  return out;
}

/** Decides what `argv` (after the executable) asks for. */
export function parseArgv(argv: readonly string[]): Invocation {
  const args = withoutDb(argv);
  const [cmd, ...rest] = args;
  const help = rest.includes('--help') || rest.includes('-h');
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') return { kind: 'print', stdout: USAGE, code: 0 };
  if (cmd === 'rpc') return help || !rest.includes('--json') ? { kind: 'print', stdout: USAGE, code: 0 } : { kind: 'rpc' };
  if (cmd === 'status') return { kind: 'print', stdout: `${JSON.stringify(STATUS)}\n`, code: 0 };
  const name = cmd.replace(/[^\w.-]/g, '?').slice(0, 40);
  return { kind: 'unknown', stderr: `unknown command: ${name}\n`, code: 64 };
}
