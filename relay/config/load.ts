// Reading the config file (`--config` or IMESSAGE_RELAY_CONFIG), paths (~ and relative to the file)
// and secrets (from files with mode 0600, or from the environment).
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { RelayError } from '../errors.js';
import { ConfigCode, ConfigNode } from './validate.js';

/** Finds and parses the config file. */
export function loadConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv): { node: ConfigNode; file: string } {
  const file = flag ?? env['IMESSAGE_RELAY_CONFIG'];
  if (file === undefined || file === '') {
    throw new RelayError(ConfigCode.Missing, 'no config: pass --config <file> or set IMESSAGE_RELAY_CONFIG');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RelayError(ConfigCode.Unreadable, `cannot read the config ${file}: ${(err as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RelayError(ConfigCode.Invalid, `${file} is not valid JSON: ${(err as Error).message}`, { file });
  }
  return { node: ConfigNode.root(json, file), file: resolve(file) };
}

/** Expands `~` and resolves a path relative to the config file's folder. */
export function configPath(p: string, configFile: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(dirname(configFile), p);
}

/**
 * Reads a secret from `<key>File` (a file that only its owner may read) or `<key>Env` (the name of
 * an environment variable). Returns null when neither is configured.
 */
export function readSecret(node: ConfigNode, key: string, configFile: string, env: NodeJS.ProcessEnv): string | null {
  const fileKey = `${key}File`;
  const envKey = `${key}Env`;
  if (node.has(fileKey)) {
    const path = configPath(node.string(fileKey), configFile);
    let st;
    try {
      st = statSync(path);
    } catch {
      return node.fail(fileKey, 'a readable file', path);
    }
    if ((st.mode & 0o077) !== 0) node.fail(fileKey, `a file only its owner can read (chmod 600 ${path})`, `mode ${(st.mode & 0o777).toString(8)}`);
    const value = readFileSync(path, 'utf8').trim();
    if (value === '') node.fail(fileKey, 'a file holding the secret', 'an empty file');
    return value;
  }
  if (node.has(envKey)) {
    const name = node.string(envKey);
    const value = env[name];
    if (value === undefined || value === '') node.fail(envKey, `the name of a set environment variable (${name} is not set)`, name);
    return value;
  }
  return null;
}
