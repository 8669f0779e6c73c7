// `imessage-relay init --mac --pair <line>`: the Mac's config (the hub it dials and pins) and key,
// and the line that adds this Mac to the hub's `relays`.
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { parseMacConfig } from '../config/mac-config.js';
import { decodePairing, encodePairing, PairingCode } from '../config/pairing.js';
import { ACCOUNT, configNotes, isHubUrl, macStarterConfig, parseHostPort } from '../config/starter.js';
import { ConfigNode } from '../config/validate.js';
import { RelayError } from '../errors.js';
import { fingerprint, parsePublicKey, writeNewKeyFile } from '../link/keys.js';
import { absolute, type InitValues } from './init-options.js';
import { UsageError, type CliIo } from './io.js';
import { refuseExisting, shellQuote, writeNewFile } from './new-files.js';

/** A Mac paired with the hub whose line is in --pair. */
export async function initMac(values: InitValues, io: CliIo): Promise<number> {
  if (values.pair === undefined) {
    throw new UsageError('init --mac needs --pair <line>: run "imessage-relay init --hub --account <name>" on the hub first; it prints the line');
  }
  const hub = decodePairing(values.pair, 'hub');
  if (!isHubUrl(hub.url)) throw new RelayError(PairingCode.Invalid, `the pairing line's hub address "${hub.url}" is not a ws:// or wss:// URL`, { expected: 'hub' });
  if (!ACCOUNT.test(hub.account)) throw new RelayError(PairingCode.Invalid, 'the pairing line\'s account is not a valid account name', { expected: 'hub' });
  const health = values.health === undefined ? null : parseHostPort(values.health);
  if (health === null && values.health !== undefined) throw new UsageError(`--health "${values.health}" is not host:port`);
  const dataDir = absolute(values['data-dir']);
  const file = absolute(values.config ?? (process.env['IMESSAGE_RELAY_CONFIG'] || undefined))
    ?? join(dataDir ?? join(homedir(), 'Library', 'Application Support', 'imessage-relay'), 'relay.json');
  const json = macStarterConfig({ hubUrl: hub.url, hubPublicKey: hub.key, chatDb: absolute(values['chat-db']), dataDir, health });
  const config = parseMacConfig(ConfigNode.root(json, file), file); // what `run` will read: the key goes where it looks
  refuseExisting([file, config.keyFile], 'init --mac', 'a new key means the hub must add this Mac again (init --hub --add-relay)');
  const kp = writeNewKeyFile(config.keyFile);
  writeNewFile(file, `${JSON.stringify(json, null, 2)}\n`);
  const notes = `${file}.README`;
  writeFileSync(notes, configNotes('mac', json, basename(file)), { mode: 0o644 }); // notes only: replaced on a new start
  const publicKey = Buffer.from(kp.publicKey).toString('base64');
  const line = encodePairing('relay', { key: publicKey, account: hub.account });
  const next = `imessage-relay init --hub --add-relay ${line}`;
  const hubFp = fingerprint(parsePublicKey(hub.key, 'the hub key'));
  if (values.json === true) {
    io.stdout(`${JSON.stringify({ side: 'mac', config: file, notes, keyFile: config.keyFile, publicKey, fingerprint: fingerprint(kp.publicKey), account: hub.account, hubUrl: hub.url, hubFingerprint: hubFp, pairing: line, next })}\n`);
    return 0;
  }
  io.stdout([
    `wrote ${file} (only what differs from the defaults; ${notes} says why)`,
    `wrote ${config.keyFile} (mode 0600), fingerprint ${fingerprint(kp.publicKey)}`,
    `this Mac dials ${hub.url} as account "${hub.account}"; hub fingerprint ${hubFp} (init on the hub printed the same)`,
    '',
    'On the hub, run:',
    '',
    `  ${next}`,
    '',
    'then restart the hub, and start the relay here:',
    `  imessage-relay run --config ${shellQuote(file)}`,
    '',
  ].join('\n'));
  return 0;
}
