// Hub reachable and our key accepted: a real link handshake with the relay's key, up to the hub's
// `welcome`. While the daemon runs, its own link is read from /health instead (a second session with
// the same key would replace the daemon's at the hub).
import type { KeyPair } from '../link/keys.js';
import { CloseCode } from '../link/close-codes.js';
import type { LinkProbeDeps, LinkProbeResult } from '../link/probe.js';
import { failed, passed, type CheckResult } from './check.js';
import type { ComponentView } from './health-view.js';

/** What the hub link check needs: the relay's identity, where to dial, and the daemon's view when it runs. */
export interface HubLinkCheckDeps {
  readonly hubUrl: string;
  readonly keys: KeyPair | null;
  readonly hubPublicKey: Uint8Array;
  readonly storeId: string;
  readonly agent: string;
  readonly configFile: string;
  readonly timeoutMs: number;
  readonly probe: (deps: LinkProbeDeps) => Promise<LinkProbeResult>;
  /** The running daemon's `link` component, or null (then we dial). */
  readonly daemon: ComponentView | null;
}

/** ✓ when the hub welcomed us (or the daemon's link is up); ✗ with why and the fix for each way a dial ends. */
export async function checkHubLink(deps: HubLinkCheckDeps): Promise<CheckResult> {
  const name = 'hub link';
  const url = deps.hubUrl;
  const reach = `start the hub there (imessage-relay hub --config hub.json); if it runs, check hub.url in ${deps.configFile} and the tunnel (the hub's link must listen on the address the Mac dials)`;
  if (deps.daemon !== null) {
    if (deps.daemon.state === 'ok') return passed(name, `the daemon's link to ${url} is up`, 'daemon /health');
    return failed(name, `the daemon's link to ${url} is down: ${deps.daemon.reason ?? deps.daemon.state}`,
      `${reach}; the daemon's log (imessage-relay logs --config ${deps.configFile}) says why each dial failed`, 'daemon /health');
  }
  if (deps.keys === null) return failed(name, 'not dialled: the key file cannot be read (see "key file")', 'fix the key file first');
  const r = await deps.probe({ url, keys: deps.keys, hubPublicKey: deps.hubPublicKey, storeId: deps.storeId, agent: deps.agent, timeoutMs: deps.timeoutMs });
  const src = 'handshake';
  if (r.ok) return passed(name, `${url} welcomed this relay as "${r.account}" in ${r.ms} ms (hub key ${r.hubFingerprint} as pinned)`, src);
  const key = Buffer.from(deps.keys.publicKey).toString('base64');
  switch (r.stage) {
    case 'connect':
      return failed(name, `cannot reach the hub at ${url}: ${r.reason === 'ECONNREFUSED' ? 'connection refused (nothing listens there)' : r.reason}`, reach, src);
    case 'timeout':
      return failed(name, `${url}: ${r.reason}`, `check the tunnel and the address in hub.url (${deps.configFile}); a firewall may drop the packets`, src);
    case 'wrong-key':
      return failed(name, `${url}: ${r.reason}`,
        `make sure hub.url is your hub; if its key was made again, pair again (imessage-relay init --hub --invite <account> on the hub) and compare fingerprints before you trust it`, src);
    case 'protocol':
      return failed(name, `${url}: ${r.reason}`, 'hub.url must be the hub\'s link address (listen.host:listen.port), with the same imessage-relay version on both sides', src);
    case 'refused':
      if (r.code === CloseCode.UnknownKey) {
        return failed(name, `${url} refused this relay's key (${r.code} unknown relay key)`,
          `on the hub, add this Mac: imessage-relay init --hub --add-relay <the line init --mac printed> (or add {"account": "<name>", "publicKey": "${key}"} to relays in hub.json), then restart the hub`, src);
      }
      if (r.code === CloseCode.TryLater) return failed(name, `${url} is limiting handshakes (1013): too many from this address or key just now`, 'wait a minute and run doctor again; if it persists, look for a relay redialling in a loop', src);
      return failed(name, `${url} closed the link (${r.code ?? '?'}: ${r.reason})`, 'see the hub\'s log (imessage-relay logs --config hub.json) for why', src);
  }
}
