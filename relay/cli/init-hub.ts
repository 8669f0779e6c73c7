// `imessage-relay init --hub`: a new hub (config, key, API token), a Mac's line added to its
// `relays` (`--add-relay`), and a pairing line for another Mac from an existing hub (`--invite`).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { decodePairing, encodePairing, PairingCode } from '../config/pairing.js';
import { ACCOUNT, addRelay, InitCode, configNotes, formatHostPort, hubDialUrl, hubFiles, hubStarterConfig, isHubUrl, parseHostPort } from '../config/starter.js';
import { ConfigCode } from '../config/validate.js';
import { RelayError } from '../errors.js';
import { fingerprint, parsePublicKey, readKeyFile, writeNewKeyFile } from '../link/keys.js';
import { absolute, checkAccount, type InitValues } from './init-options.js';
import { UsageError, type CliIo } from './io.js';
import { refuseExisting, replaceFile, shellQuote, writeNewFile } from './new-files.js';

/** The hub config init works on: --config, else $IMESSAGE_RELAY_CONFIG, else hub.json here. */
function hubConfigFile(values: InitValues): { file: string; isDefault: boolean } {
  const flag = absolute(values.config);
  const dflt = absolute(process.env['IMESSAGE_RELAY_CONFIG'] || undefined) ?? resolve('hub.json');
  return { file: flag ?? dflt, isDefault: flag === null || flag === dflt };
}

function readHubJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RelayError(ConfigCode.Unreadable, `cannot read the hub config ${file}: ${(err as Error).message} (run "imessage-relay init --hub --account <name>" first, or pass --config)`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RelayError(ConfigCode.Invalid, `${file} is not valid JSON: ${(err as Error).message}`, { file });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new RelayError(ConfigCode.Invalid, `${file}: the config must be a JSON object`, { file });
  return json as Record<string, unknown>;
}

function dialUrl(values: InitValues, fallback: string | null, listen: string): string {
  const url = values.url ?? fallback;
  if (url === null) throw new UsageError(`the hub listens on ${listen}, every address, which a Mac cannot dial: add --url ws://<the address the Mac dials>`);
  if (!isHubUrl(url)) throw new UsageError(`--url "${url}" is not a ws:// or wss:// URL`);
  return url;
}

function printPairing(io: CliIo, values: InitValues, head: readonly string[], info: Record<string, unknown>, line: string, hub: { file: string; isDefault: boolean }): void {
  const next = `imessage-relay init --mac --pair ${line}`;
  if (values.json === true) {
    io.stdout(`${JSON.stringify({ side: 'hub', ...info, pairing: line, next })}\n`);
    return;
  }
  const here = hub.isDefault ? '' : ` --config ${shellQuote(hub.file)}`;
  io.stdout([
    ...head,
    '',
    'On the Mac, run:',
    '',
    `  ${next}`,
    '',
    `It prints a line starting "imessage-relay init --hub --add-relay": run it here${here === '' ? '' : ` with${here}`}, then start the hub:`,
    `  imessage-relay hub --config ${shellQuote(hub.file)}`,
    '',
  ].join('\n'));
}

/** A new hub: key, API token, config with no relay yet, and the line for the Mac. */
export async function initHub(values: InitValues, io: CliIo): Promise<number> {
  const account = checkAccount(values.account!);
  const listen = parseHostPort(values.link ?? '10.8.0.1:7443', 7443);
  if (listen === null) throw new UsageError(`--link "${values.link}" is not host:port`);
  const api = values.api === undefined ? null : parseHostPort(values.api, 7480);
  if (api === null && values.api !== undefined) throw new UsageError(`--api "${values.api}" is not host:port`);
  const dataDir = absolute(values['data-dir']);
  const hub = hubConfigFile(values);
  const json = hubStarterConfig({ listen, api, dataDir });
  const url = dialUrl(values, hubDialUrl(json), formatHostPort(listen));
  const files = hubFiles(json, hub.file);
  refuseExisting([hub.file, files.keyFile, files.tokenFile!], 'init --hub',
    'a new hub key means every Mac paired with it must pair again. To pair another Mac with this hub: imessage-relay init --hub --invite <account>');
  const kp = writeNewKeyFile(files.keyFile);
  writeNewFile(files.tokenFile!, `${randomBytes(32).toString('base64url')}\n`);
  writeNewFile(hub.file, `${JSON.stringify(json, null, 2)}\n`);
  const notes = `${hub.file}.README`;
  writeFileSync(notes, configNotes('hub', json, basename(hub.file)), { mode: 0o644 }); // notes only: replaced on a new start
  const publicKey = Buffer.from(kp.publicKey).toString('base64');
  const fp = fingerprint(kp.publicKey);
  const apiAt = formatHostPort(api ?? { host: '127.0.0.1', port: 7480 });
  printPairing(io, values, [
    `wrote ${hub.file} (only what differs from the defaults; ${notes} says why)`,
    `wrote ${files.keyFile} (mode 0600), fingerprint ${fp}`,
    `wrote ${files.tokenFile} (mode 0600): the assistant's bearer token for the API on ${apiAt}`,
    `the Mac will dial ${url} as account "${account}"`,
  ], { config: hub.file, notes, keyFile: files.keyFile, tokenFile: files.tokenFile, publicKey, fingerprint: fp, account, url, api: apiAt },
  encodePairing('hub', { key: publicKey, url, account }), hub);
  return 0;
}

/** The line for one more Mac (or the first again), from the hub's config and key as they are. */
export async function inviteCommand(values: InitValues, account: string, io: CliIo): Promise<number> {
  checkAccount(account);
  const hub = hubConfigFile(values);
  const json = readHubJson(hub.file);
  const relays = Array.isArray(json['relays']) ? json['relays'] as Array<Record<string, unknown> | null> : [];
  if (relays.some((r) => r?.['account'] === account)) {
    throw new RelayError(InitCode.PeerExists, `${hub.file}: account "${account}" is already in "relays"; remove that entry first to pair a new Mac under this name`, { file: hub.file, account });
  }
  const url = dialUrl(values, hubDialUrl(json), 'every address');
  const kp = readKeyFile(hubFiles(json, hub.file).keyFile);
  const publicKey = Buffer.from(kp.publicKey).toString('base64');
  printPairing(io, values, [`hub ${hub.file}, fingerprint ${fingerprint(kp.publicKey)}; the Mac will dial ${url} as account "${account}"`],
    { config: hub.file, publicKey, fingerprint: fingerprint(kp.publicKey), account, url }, encodePairing('hub', { key: publicKey, url, account }), hub);
  return 0;
}

/** Adds the Mac's line to the hub's `relays` (the config is rewritten whole, through a rename). */
export async function addRelayCommand(values: InitValues, line: string, io: CliIo): Promise<number> {
  const relay = decodePairing(line, 'relay');
  if (!ACCOUNT.test(relay.account)) throw new RelayError(PairingCode.Invalid, 'the pairing line\'s account is not a valid account name', { expected: 'relay' });
  const hub = hubConfigFile(values);
  const json = readHubJson(hub.file);
  const added = addRelay(json, { account: relay.account, publicKey: relay.key }, hub.file);
  if (added) replaceFile(hub.file, `${JSON.stringify(json, null, 2)}\n`);
  const fp = fingerprint(parsePublicKey(relay.key, 'the Mac key'));
  if (values.json === true) {
    io.stdout(`${JSON.stringify({ side: 'hub', config: hub.file, account: relay.account, publicKey: relay.key, fingerprint: fp, added })}\n`);
    return 0;
  }
  io.stdout(added
    ? `added relay "${relay.account}" (fingerprint ${fp}, as init printed on the Mac) to ${hub.file}.\nStart the hub, or restart it if it runs, to let it in:\n  imessage-relay hub --config ${shellQuote(hub.file)}\n`
    : `relay "${relay.account}" (fingerprint ${fp}) is already in ${hub.file}: nothing changed.\n`);
  return 0;
}
