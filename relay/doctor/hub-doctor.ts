// The hub's checks: key, the hub answering, relays connected, webhook receivers answering, dead
// letters, tunnel, disk. While the hub runs its /health (with the API token) is read; when it does
// not, hub.db is looked at read-only.
import { dirname, join } from 'node:path';
import type { HubConfig } from '../config/hub-config.js';
import { asRelayError } from '../errors.js';
import { peekHubStore, type HubStorePeek } from '../store/peek.js';
import { failed, passed, skipped, type CheckResult } from './check.js';
import { guarded, type DoctorDeps } from './deps.js';
import { checkDisk } from './disk-check.js';
import { baseUrl, isView, readHealth, type HealthView } from './health-view.js';
import { checkKeyFile } from './key-check.js';
import { checkTunnel } from './tunnel-check.js';
import { checkWebhooks } from './webhooks-check.js';

/** The names of the hub's lines after `config`, in order. */
export const HUB_CHECKS = ['key file', 'hub', 'relays', 'webhooks', 'dead letters', 'tunnel', 'disk space'] as const;

const ago = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min ago` : `${Math.round(ms / 3_600_000)} h ago`);

function relaysCheck(config: HubConfig, hub: HealthView | null, peek: () => HubStorePeek | null, now: number): CheckResult {
  const name = 'relays';
  const accounts = config.relays.map((r) => r.account);
  if (hub === null) {
    let seen: ReadonlyMap<string, number> = new Map();
    try {
      seen = peek()?.lastSeen ?? seen;
    } catch { /* hub.db unreadable: "dead letters" says so */ }
    const last = accounts.map((a) => `${a} ${seen.has(a) ? `last seen ${ago(now - seen.get(a)!)}` : 'never seen'}`).join(', ');
    return skipped(name, `the hub is not running (${last})`);
  }
  const c = hub.components['relays'];
  const connected = Array.isArray(c?.['connected']) ? (c['connected'] as string[]) : [];
  const missing = accounts.filter((a) => !connected.includes(a));
  if (c?.state === 'ok' || (c !== undefined && missing.length === 0)) return passed(name, `connected: ${connected.join(', ')}`, 'hub /health');
  return failed(name, `${missing.length} of ${accounts.length} not connected: ${missing.join(', ')}`,
    `on ${missing.length === 1 ? 'that Mac' : 'each of those Macs'} run imessage-relay doctor: it says why its link is down (the daemon not running, the tunnel, its key not in relays here)`, 'hub /health');
}

function deadLettersCheck(hub: HealthView | null, peek: () => HubStorePeek | null, dbPath: string, apiBase: string): CheckResult {
  const name = 'dead letters';
  const fix = `look at them (curl -H "Authorization: Bearer $TOKEN" ${apiBase}/v1/dead-letters), fix the receiver, then put each back: POST ${apiBase}/v1/dead-letters/{hook}/{seq}/retry`;
  if (hub !== null) {
    const w = hub.components['webhooks'];
    const n = typeof w?.['dead_letters'] === 'number' ? w['dead_letters'] : 0;
    const backlog = typeof w?.['backlog'] === 'number' ? `, ${w['backlog']} waiting` : '';
    if (n > 0) return failed(name, `${n} webhook deliveries gave up and are parked${backlog}`, fix, 'hub /health');
    return passed(name, `none${backlog}`, 'hub /health');
  }
  let p: HubStorePeek | null;
  try {
    p = peek();
  } catch (err) {
    const e = asRelayError(err, 'STORE_OPEN_FAILED');
    return failed(name, `${e.code}: ${e.message}`, `check that this user owns ${dbPath} and may read it`);
  }
  if (p === null) return passed(name, `none: ${dbPath} not made yet (the hub has not run)`, 'hub.db');
  const total = [...p.dead.values()].reduce((a, b) => a + b, 0);
  if (total > 0) return failed(name, `${total} webhook deliveries gave up and are parked (${[...p.dead].map(([h, n]) => `${h}: ${n}`).join(', ')}), ${p.pending} waiting`, fix, 'hub.db');
  return passed(name, `none, ${p.pending} waiting`, 'hub.db');
}

/** Runs the hub's checks after its config loaded; each result goes to `deps.onResult` as it comes. */
export async function hubDoctor(config: HubConfig, file: string, deps: DoctorDeps): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add = (r: CheckResult): void => { out.push(r); deps.onResult?.(r); };
  const api = baseUrl(config.api.host, config.api.port);
  const dbPath = join(config.dataDir, 'hub.db');
  const peek = (): HubStorePeek | null => peekHubStore(dbPath);
  add(await guarded('key file', () => checkKeyFile(config.keyFile, `imessage-relay keygen --out ${config.keyFile}; every relay then pins the new key`)));
  const view = await readHealth(api, { expectRole: 'hub', token: config.api.token, timeoutMs: deps.timeoutMs });
  const hub = isView(view) ? view : null;
  add(isView(view)
    ? passed('hub', `running: ${api}/health says ${view.status}`, 'hub /health')
    : failed('hub', `not running: ${view.error}`, `start it: imessage-relay hub --config ${file} (or the service that runs it); its log says why it stopped (imessage-relay logs --config ${file})`));
  add(await guarded('relays', () => relaysCheck(config, hub, peek, deps.now())));
  add(await guarded('webhooks', () => checkWebhooks(config.webhooks, deps.timeoutMs, hub?.components['webhooks'] ?? null, file)));
  add(await guarded('dead letters', () => deadLettersCheck(hub, peek, dbPath, api)));
  add(await guarded('tunnel', () => checkTunnel(config.tunnel, deps.wg(config.tunnel.command), deps.now, hub === null ? null : hub.components['tunnel'] ?? null)));
  const places: Array<readonly [string, string]> = [['store', config.dataDir]];
  if (config.log.file !== null) places.push(['logs', dirname(config.log.file)]);
  add(await guarded('disk space', () => checkDisk(places, deps.statfs)));
  return out;
}
