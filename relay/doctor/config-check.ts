// The first doctor check on either side: which config (--config, IMESSAGE_RELAY_CONFIG, or where
// `init` writes it), Mac or hub, and whether it loads as `run` / `hub` would load it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseHubConfig, type HubConfig } from '../config/hub-config.js';
import { loadConfigFile } from '../config/load.js';
import { parseMacConfig, type MacConfig } from '../config/mac-config.js';
import { ConfigCode, type ConfigNode } from '../config/validate.js';
import { asRelayError } from '../errors.js';
import { parsePublicKey } from '../link/keys.js';
import { failed, passed, type CheckResult } from './check.js';

/** Which end a config is for. */
export type Side = 'mac' | 'hub';

/** A config that loaded, with its side and absolute path. */
export type LoadedConfig =
  | { readonly side: 'mac'; readonly file: string; readonly config: MacConfig }
  | { readonly side: 'hub'; readonly file: string; readonly config: HubConfig };

/** Where `init` writes each side's config: the Mac's in its data folder, the hub's in the folder it ran in. */
export function defaultConfigFiles(cwd: string, home: string = homedir()): { mac: string; hub: string } {
  return { mac: join(home, 'Library', 'Application Support', 'imessage-relay', 'relay.json'), hub: resolve(cwd, 'hub.json') };
}

/** The config to check: --config, IMESSAGE_RELAY_CONFIG, else the one `init` wrote for `side` (or for either). */
export function findConfig(flag: string | undefined, env: NodeJS.ProcessEnv, side: Side | null, defaults: { mac: string; hub: string }): string | undefined {
  const given = flag ?? (env['IMESSAGE_RELAY_CONFIG'] || undefined);
  if (given !== undefined) return given;
  const candidates = side === 'hub' ? [defaults.hub] : side === 'mac' ? [defaults.mac] : [defaults.mac, defaults.hub];
  return candidates.find((f) => existsSync(f));
}

/** A Mac config names its hub; a hub config lists relays or where it listens. */
export function sideOf(node: ConfigNode): Side {
  return node.has('hub') ? 'mac' : node.has('relays') || node.has('listen') || node.has('api') ? 'hub' : 'mac';
}

function fixFor(code: string, message: string, file: string | undefined, side: Side | null): string {
  const chmod = /\(chmod 600 ([^)]+)\)/.exec(message);
  if (chmod !== null) return `chmod 600 ${chmod[1]!}`;
  if (code === ConfigCode.Missing) {
    return side === 'hub'
      ? 'pass --config <file> (or set IMESSAGE_RELAY_CONFIG), or make one: imessage-relay init --hub --account <name>'
      : 'pass --config <file> (or set IMESSAGE_RELAY_CONFIG), or make one: imessage-relay init --mac --pair <line from init --hub>';
  }
  if (code === ConfigCode.Unreadable) return `check the path and that this user may read ${file ?? 'it'}`;
  if (code === 'KEY_INVALID') return `put the other side's whole base64 public key there again in ${file ?? 'the config'} (its init printed it; compare fingerprints)`;
  return `correct that key in ${file ?? 'the config'} (README "Configuration" lists every key and its default), then run doctor again`;
}

/**
 * Loads and validates the config as the daemon would (secret files and their modes included).
 * `side` forces Mac or hub; null tells them apart by their keys (the side is known, even for a bad
 * config, once its JSON has been read).
 */
export function checkConfig(flag: string | undefined, env: NodeJS.ProcessEnv, side: Side | null, defaults: { mac: string; hub: string }): { result: CheckResult; loaded: LoadedConfig | null; side: Side | null } {
  const name = 'config';
  const file = findConfig(flag, env, side, defaults);
  let which = side;
  try {
    const { node, file: abs } = loadConfigFile(file, env);
    which = side ?? sideOf(node);
    if (which === 'mac') {
      const config = parseMacConfig(node, abs);
      parsePublicKey(config.hubPublicKey, `hub.publicKey in ${abs}`);
      return { result: passed(name, `${abs} is a valid Mac config (hub ${config.hubUrl})`), loaded: { side: 'mac', file: abs, config }, side: which };
    }
    const config = parseHubConfig(node, abs, env);
    config.relays.forEach((r, i) => parsePublicKey(r.publicKey, `relays[${i}].publicKey (${r.account}) in ${abs}`));
    return { result: passed(name, `${abs} is a valid hub config (${config.relays.length} relay${config.relays.length === 1 ? '' : 's'}, ${config.webhooks.length} webhook${config.webhooks.length === 1 ? '' : 's'})`), loaded: { side: 'hub', file: abs, config }, side: which };
  } catch (err) {
    const e = asRelayError(err, ConfigCode.Invalid);
    return { result: failed(name, `${e.code}: ${e.message}`, fixFor(e.code, e.message, file, which)), loaded: null, side: which };
  }
}
