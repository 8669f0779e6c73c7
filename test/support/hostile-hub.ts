// The Mac daemon (`imessage-relay run`, a real child process) dialling a FakeHubServer instead of
// its hub: what the hostile-server tests and the link-client fuzzer drive, case after case.
import { join } from 'node:path';
import { readKeyFile, type KeyPair } from '../../relay/link/keys.js';
import { FakeHubServer, type FakeConnection } from './fake-hub-server.js';
import { RelayEnv } from './relay-env.js';

export interface HostileHubOptions {
  /** The daemon's link section (fast backoff and a 3 s handshake timeout by default: a dial held unanswered while a test looks at /health stays up). */
  readonly link?: Record<string, unknown>;
  /** More keys of the daemon's config (e.g. `sender`). */
  readonly mac?: Record<string, unknown>;
}

export interface LinkHealth {
  readonly state: string;
  readonly reason: string | null;
  readonly failures?: number;
}

export class HostileHub {
  readonly env = new RelayEnv();
  readonly fake = new FakeHubServer();
  /** The hub's real key pair: the fake server can complete the handshake with it. */
  hubKeys!: KeyPair;

  async start(opts: HostileHubOptions = {}): Promise<void> {
    const port = await this.fake.start();
    const link = { heartbeatMs: 1000, deadAfterMs: 3000, backoffBaseMs: 10, backoffCapMs: 100, handshakeTimeoutMs: 3000, ...opts.link };
    await this.env.prepare({ dialPort: port, macExtra: { link, ...opts.mac } });
    this.hubKeys = readKeyFile(join(this.env.dir, 'keys', 'hub.key'));
    await this.env.startMac();
  }

  /** The daemon process is still running. */
  get alive(): boolean {
    const c = this.env.mac!.child;
    return c.exitCode === null && c.signalCode === null;
  }

  /** The next dial of the daemon (it dials again after each case, after its backoff). */
  accept(timeoutMs = 15_000): Promise<FakeConnection> {
    return this.fake.accept(timeoutMs);
  }

  /** The `link` component of the daemon's /health. */
  async linkHealth(): Promise<LinkHealth> {
    const { body } = await this.env.health();
    return body.components['link'] as LinkHealth;
  }

  /**
   * From now on the daemon's dials reach a real hub (started here): the connection held now is
   * dropped so that the daemon redials through.
   */
  async letThroughToRealHub(held: FakeConnection | null): Promise<void> {
    await this.env.startHub();
    this.fake.passThrough(this.env.hubPort);
    held?.destroy();
  }

  async close(): Promise<void> {
    await this.env.close();
    await this.fake.stop();
  }
}
