// The `imsg-relay` command's own config: where the hub is, its token, and where attachments and the
// chat cache live. Read from $IMSG_RELAY_CONFIG or /etc/imsg-relay/config.json (cliPath carries no arguments).
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { RelayError } from '../errors.js';

/** Where the config is read from when $IMSG_RELAY_CONFIG is unset. */
export const DEFAULT_CONFIG_PATH = '/etc/imsg-relay/config.json';

export interface ImsgConfig {
  /** The hub's API base, e.g. http://127.0.0.1:8787 (http only: the command runs beside the hub). */
  readonly hub: URL;
  readonly token: string;
  /** The relay account this command serves; null when the hub serves one relay. */
  readonly account: string | null;
  /** Incoming attachments are written below this folder (list it in OpenClaw's attachmentRoots). */
  readonly attachmentsRoot: string;
  /** The chat cache (answers chats.list while the hub is unreachable). */
  readonly stateDir: string;
  /** How long one long-poll of the row feed waits on the hub (seconds, 1..60). */
  readonly pollWaitSeconds: number;
  /** A watch whose hub stays unreachable this long reports `error` and exits non-zero (OpenClaw restarts it). */
  readonly hubDownExitSeconds: number;
  /** How long a send waits for the Mac's confirmation (seconds; OpenClaw gives up at 180). */
  readonly sendWaitSeconds: number;
}

const DEFAULTS = {
  hub: 'http://127.0.0.1:8787', tokenFile: '/etc/imsg-relay/token', account: null,
  attachmentsRoot: '/var/lib/imsg-relay/attachments', stateDir: '/var/lib/imsg-relay',
  pollWaitSeconds: 25, hubDownExitSeconds: 120, sendWaitSeconds: 170,
};

const bad = (path: string, message: string): RelayError => new RelayError('IMSG_CONFIG', `${path}: ${message}`, { path });

function absolute(path: string, key: string, value: unknown): string {
  if (typeof value !== 'string' || !isAbsolute(value)) throw bad(path, `"${key}" must be an absolute path`);
  return value;
}

function seconds(path: string, key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw bad(path, `"${key}" must be a number from ${min} to ${max}`);
  return value;
}

function readToken(path: string, file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw bad(path, `cannot read the token file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o007) !== 0) throw bad(path, `the token file ${file} is readable by others: chmod o-rwx it`);
  const token = readFileSync(file, 'utf8').trim();
  if (token === '') throw bad(path, `the token file ${file} is empty`);
  return token;
}

/**
 * Reads and checks the config named by `env.IMSG_RELAY_CONFIG` (or the default path).
 * @throws RelayError IMSG_CONFIG naming the file and what is wrong with it.
 */
export function loadConfig(env: NodeJS.ProcessEnv): ImsgConfig {
  const path = env['IMSG_RELAY_CONFIG'] !== undefined && env['IMSG_RELAY_CONFIG'] !== '' ? env['IMSG_RELAY_CONFIG'] : DEFAULT_CONFIG_PATH;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw bad(path, code === undefined ? 'not valid JSON' : `cannot read it (${code}); set IMSG_RELAY_CONFIG or create it`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(path, 'must be a JSON object');
  const c = { ...DEFAULTS, ...(raw as Record<string, unknown>) };
  let hub: URL;
  try {
    hub = new URL(String(c.hub));
  } catch {
    throw bad(path, '"hub" must be a URL such as http://127.0.0.1:8787');
  }
  if (hub.protocol !== 'http:') throw bad(path, '"hub" must be an http:// URL (the command runs beside the hub)');
  const inline = (raw as Record<string, unknown>)['token'];
  const token = typeof inline === 'string' && inline !== '' ? inline : readToken(path, absolute(path, 'tokenFile', c.tokenFile));
  if (c.account !== null && (typeof c.account !== 'string' || c.account === '')) throw bad(path, '"account" must be a string or null');
  return {
    hub, token, account: c.account as string | null,
    attachmentsRoot: absolute(path, 'attachmentsRoot', c.attachmentsRoot), stateDir: absolute(path, 'stateDir', c.stateDir),
    pollWaitSeconds: seconds(path, 'pollWaitSeconds', c.pollWaitSeconds, 1, 60),
    hubDownExitSeconds: seconds(path, 'hubDownExitSeconds', c.hubDownExitSeconds, 1, 3600),
    sendWaitSeconds: seconds(path, 'sendWaitSeconds', c.sendWaitSeconds, 1, 175),
  };
}
