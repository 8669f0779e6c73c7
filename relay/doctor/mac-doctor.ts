// The Mac's checks, in the order a set-up goes wrong: config, key, chat.db, Messages, clock, tunnel,
// hub link, disk, outbox, launchd. Each line says where its answer came from; while the daemon runs,
// its /health and /metrics stand in for anything that would compete with it.
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { MacConfig } from '../config/mac-config.js';
import { parsePublicKey, readKeyFile, type KeyPair } from '../link/keys.js';
import { peekMacStore, type MacStorePeek } from '../store/peek.js';
import { passed, skipped, type CheckResult } from './check.js';
import { checkChatDb } from './chatdb-check.js';
import { checkClock } from './clock-check.js';
import { guarded, type DoctorDeps } from './deps.js';
import { checkDisk } from './disk-check.js';
import { baseUrl, isView, readHealth, type HealthView } from './health-view.js';
import { checkHubLink } from './hub-link-check.js';
import { checkKeyFile } from './key-check.js';
import { checkLaunchd } from './launchd-check.js';
import { checkMessages } from './messages-check.js';
import { checkOutbox } from './outbox-check.js';
import { checkTunnel } from './tunnel-check.js';

/** The agent string the doctor's handshake shows in the hub's log. */
export const DOCTOR_AGENT = 'imessage-relay-doctor/0.1.0';

/** The names of the Mac's lines after `config`, in order (skipped together when the config is bad). */
export const MAC_CHECKS = ['daemon', 'key file', 'chat.db', 'Messages', 'clock', 'tunnel', 'hub link', 'disk space', 'outbox', 'launchd agent'] as const;

function tryKeys(path: string): KeyPair | null {
  try {
    return readKeyFile(path);
  } catch {
    return null;
  }
}

/** The store id to say hello with: relay.db's, or a new one when it has none yet (null: relay.db unreadable, do not dial). */
function helloStoreId(dbPath: string): string | null {
  let peek: MacStorePeek | null;
  try {
    peek = peekMacStore(dbPath);
  } catch {
    return null;
  }
  return peek?.storeId ?? randomUUID();
}

/** Runs the Mac's checks after its config loaded; each result goes to `deps.onResult` as it comes. */
export async function macDoctor(config: MacConfig, file: string, deps: DoctorDeps): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add = (r: CheckResult): void => { out.push(r); deps.onResult?.(r); };
  const health = baseUrl(config.health.host, config.health.port);
  const view = await readHealth(health, { expectRole: 'mac', metrics: true, timeoutMs: deps.timeoutMs });
  const daemon: HealthView | null = isView(view) ? view : null;
  add(isView(view)
    ? passed('daemon', `running: ${health}/health says ${view.status}; the lines marked (daemon …) are its own view`, 'daemon /health')
    : skipped('daemon', `not running: ${view.error}; the checks below look for themselves`));
  const c = (k: string) => daemon?.components[k] ?? null;
  add(await guarded('key file', () => checkKeyFile(config.keyFile, `imessage-relay keygen --out ${config.keyFile}`)));
  add(await guarded('chat.db', () => checkChatDb(config.chatDb, deps.execPath, c('chatdb'))));
  add(await guarded('Messages', () => (config.sender.enabled
    ? checkMessages({ osascript: config.sender.osascript, timeoutMs: deps.osascriptTimeoutMs, env: deps.env, execPath: deps.execPath, daemon: c('messages') })
    : skipped('Messages', 'sender.enabled is false: nothing is sent through Messages'))));
  add(await guarded('clock', () => checkClock(config.hubUrl, deps.now, deps.timeoutMs)));
  add(await guarded('tunnel', () => checkTunnel(config.tunnel, deps.wg(config.tunnel.command), deps.now, daemon === null ? null : c('tunnel'))));
  const dbPath = join(config.dataDir, 'relay.db');
  add(await guarded('hub link', () => {
    const storeId = helloStoreId(dbPath);
    if (daemon === null && storeId === null) {
      return skipped('hub link', `not dialled: ${dbPath} cannot be read (see "outbox"), and a hello without its store id would make the hub start this relay over`);
    }
    return checkHubLink({
      hubUrl: config.hubUrl, keys: tryKeys(config.keyFile), hubPublicKey: parsePublicKey(config.hubPublicKey, 'hub.publicKey'), storeId: storeId ?? '',
      agent: DOCTOR_AGENT, configFile: file, timeoutMs: deps.timeoutMs, probe: deps.probeLink, daemon: c('link'),
    });
  }));
  const places: Array<readonly [string, string]> = [['store', config.dataDir]];
  if (config.log.file !== null) places.push(['logs', dirname(config.log.file)]);
  add(await guarded('disk space', () => checkDisk(places, deps.statfs)));
  add(await guarded('outbox', () => checkOutbox({ dbPath, limits: config.outbox, now: deps.now, peek: peekMacStore, daemon, configFile: file })));
  add(await guarded('launchd agent', () => checkLaunchd({ platform: deps.platform, uid: deps.uid, label: deps.agentLabel, launchctl: deps.launchctl, run: deps.run, configFile: file })));
  return out;
}
