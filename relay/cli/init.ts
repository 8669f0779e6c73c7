// `imessage-relay init --hub|--mac`: first-time set-up of either end from nothing but a pairing line
// each way. Writes the config (non-default keys only, notes beside it), the long-term key (0600) and
// on the hub the API token (0600); never overwrites. The halves: init-hub.ts, init-mac.ts.
import { parseArgs } from 'node:util';
import { addRelayCommand, initHub, inviteCommand } from './init-hub.js';
import { initMac } from './init-mac.js';
import { OPTIONS } from './init-options.js';
import { UsageError, type CliIo } from './io.js';

export const INIT_USAGE = `imessage-relay init --hub|--mac … [--config <file>] [--json]
  First-time set-up. On the hub (first):
    init --hub --account <name> [--link <host:port>] [--url <ws-url>] [--api <host:port>] [--data-dir <folder>]
      writes hub.json, the hub's key and the API token (0600) and prints the line to run on the Mac.
      --link: where the hub listens and the Mac dials (default 10.8.0.1:7443, the hub's WireGuard
      address from "tunnel config"); --url: what the Mac dials when that differs (a proxy, wss://).
  On the Mac, with that line:
    init --mac --pair <line> [--chat-db <file>] [--health <host:port>] [--data-dir <folder>]
      writes the Mac's config (default relay.json in the data folder, ~/Library/Application Support/
      imessage-relay) and key, and prints the line to run on the hub.
  Back on the hub:
    init --hub --add-relay <line>      adds the Mac to "relays" (restart the hub to let it in)
    init --hub --invite <account>      prints a pairing line for another Mac (or again, if it was lost)
  --config: default $IMESSAGE_RELAY_CONFIG, else hub.json here (hub) / relay.json in the data folder (Mac).
  Nothing is ever overwritten: a second run says what exists and how to start over.`;

/** The options only one side takes, to refuse them on the other. */
const HUB_ONLY = ['account', 'link', 'url', 'api', 'add-relay', 'invite'] as const;
const MAC_ONLY = ['pair', 'chat-db', 'health'] as const;

export async function initCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true });
  if (values.hub === values.mac) throw new UsageError('say which end this is: --hub (the cloud machine) or --mac');
  const wrong = (values.hub === true ? MAC_ONLY : HUB_ONLY).filter((k) => values[k] !== undefined);
  if (wrong.length > 0) throw new UsageError(`--${wrong[0]} is not an option of init --${values.hub === true ? 'hub' : 'mac'}`);
  if (values.mac === true) return initMac(values, io);
  const modes = [values['add-relay'], values.invite, values.account].filter((v) => v !== undefined).length;
  if (modes !== 1) throw new UsageError('init --hub takes one of --account <name> (a new hub), --add-relay <line>, --invite <account>');
  const unused = (values['add-relay'] !== undefined ? ['link', 'url', 'api', 'data-dir'] as const : values.invite !== undefined ? ['link', 'api', 'data-dir'] as const : []).filter((k) => values[k] !== undefined);
  if (unused.length > 0) throw new UsageError(`--${unused[0]} goes with init --hub --account (a new hub), not with --${values.invite !== undefined ? 'invite' : 'add-relay'}`);
  if (values['add-relay'] !== undefined) return addRelayCommand(values, values['add-relay'], io);
  if (values.invite !== undefined) return inviteCommand(values, values.invite, io);
  return initHub(values, io);
}

