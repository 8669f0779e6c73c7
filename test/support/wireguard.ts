// A real WireGuard tunnel for tests: two network namespaces joined by a veth pair, a wireguard-go
// (userspace) interface in each, configured with `wg set`. Needs root, iproute2, wireguard-tools and
// wireguard-go (.ci/run installs them); `wireguardMissing()` says what is absent so tests can skip.
// Interfaces are reached from the root namespace through /var/run/wireguard/<name>.sock.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whether `cmd` is on PATH (`command -v`). */
export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why a real tunnel cannot be built here, or null when it can. */
export function wireguardMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need it)';
  for (const c of ['ip', 'wg', 'wireguard-go']) if (!has(c)) return `${c} is not installed (apt-get install iproute2 wireguard-tools wireguard-go)`;
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  const probe = `imr-probe-${randomBytes(3).toString('hex')}`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

const run = (file: string, args: string[], input?: string): string => execFileSync(file, args, { encoding: 'utf8', input }).trim();

interface Side { ns: string; iface: string; key: string; pub: string; veth: string; addr: string; tunnelAddr: string; proc: ChildProcess | null }

/** Side a dials side b (the hub's end, listening on port 51820). */
export class WireGuardPair {
  readonly a: Side;
  readonly b: Side;

  constructor(private readonly dir: string) {
    const tag = randomBytes(3).toString('hex');
    const side = (n: 'a' | 'b', octet: number): Side => {
      const key = run('wg', ['genkey']);
      const keyFile = join(dir, `wg-${n}.key`);
      writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
      return { ns: `imr-${tag}-${n}`, iface: `imr${tag}${n}`, key: keyFile, pub: run('wg', ['pubkey'], `${key}\n`), veth: `imv${tag}${n}`, addr: `10.231.0.${octet}`, tunnelAddr: `10.232.0.${octet}`, proc: null };
    };
    this.a = side('a', 1);
    this.b = side('b', 2);
    run('ip', ['netns', 'add', this.a.ns]);
    run('ip', ['netns', 'add', this.b.ns]);
    run('ip', ['link', 'add', this.a.veth, 'type', 'veth', 'peer', 'name', this.b.veth]);
    for (const s of [this.a, this.b]) {
      run('ip', ['link', 'set', s.veth, 'netns', s.ns]);
      run('ip', ['-n', s.ns, 'addr', 'add', `${s.addr}/24`, 'dev', s.veth]);
      run('ip', ['-n', s.ns, 'link', 'set', s.veth, 'up']);
      run('ip', ['-n', s.ns, 'link', 'set', 'lo', 'up']);
    }
  }

  private async startInterface(s: Side): Promise<void> {
    s.proc = spawn('ip', ['netns', 'exec', s.ns, 'wireguard-go', s.iface], { env: { ...process.env, WG_PROCESS_FOREGROUND: '1' }, stdio: 'ignore' });
    const sock = `/var/run/wireguard/${s.iface}.sock`;
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
    if (!existsSync(sock)) throw new Error(`wireguard-go did not create ${sock}`);
  }

  /** The hub's end: listens on 51820 and knows a. */
  async startB(): Promise<void> {
    const { a, b } = this;
    await this.startInterface(b);
    run('wg', ['set', b.iface, 'listen-port', '51820', 'private-key', b.key, 'peer', a.pub, 'allowed-ips', `${a.tunnelAddr}/32`]);
    run('ip', ['-n', b.ns, 'addr', 'add', `${b.tunnelAddr}/24`, 'dev', b.iface]);
    run('ip', ['-n', b.ns, 'link', 'set', b.iface, 'up']);
  }

  /** The relay's end: dials b with a keepalive every second (traffic that makes the handshake happen). */
  async startA(): Promise<void> {
    const { a, b } = this;
    await this.startInterface(a);
    run('wg', ['set', a.iface, 'private-key', a.key, 'peer', b.pub, 'allowed-ips', `${b.tunnelAddr}/32`, 'endpoint', `${b.addr}:51820`, 'persistent-keepalive', '1']);
    run('ip', ['-n', a.ns, 'addr', 'add', `${a.tunnelAddr}/24`, 'dev', a.iface]);
    run('ip', ['-n', a.ns, 'link', 'set', a.iface, 'up']);
  }

  /**
   * Starts side `s` from a wg-quick file as `wg-quick up` would: `wg setconf` with `wg-quick strip`'s
   * output, its Address on the interface, a route for each peer's AllowedIPs. Its own keys are unused.
   */
  async startFromWgQuick(s: Side, file: string): Promise<void> {
    await this.startInterface(s);
    const stripped = join(this.dir, `${s.iface}.stripped.conf`);
    writeFileSync(stripped, `${run('wg-quick', ['strip', file])}\n`, { mode: 0o600 });
    run('wg', ['setconf', s.iface, stripped]);
    const text = readFileSync(file, 'utf8');
    const values = (key: string): string[] => [...text.matchAll(new RegExp(`^${key}\\s*=\\s*(.+)$`, 'gm'))].flatMap((m) => m[1]!.split(',').map((v) => v.trim()));
    for (const a of values('Address')) run('ip', ['-n', s.ns, 'addr', 'add', a, 'dev', s.iface]);
    run('ip', ['-n', s.ns, 'link', 'set', s.iface, 'up']);
    for (const r of values('AllowedIPs')) run('ip', ['-n', s.ns, 'route', 'replace', r, 'dev', s.iface]);
  }

  private readonly hostVeths: string[] = [];
  private readonly tag = randomBytes(3).toString('hex');
  private readonly subnet = 1 + Math.floor(Math.random() * 254);

  /** `ip -n <side's namespace> args…` */
  ip(s: Side, ...args: string[]): string {
    return run('ip', ['-n', s.ns, ...args]);
  }

  /** A second veth pair between a and b, `10.233.0.1/24` in a and `10.233.0.2/24` in b: another way to the hub. */
  addPath(): { a: string; b: string } {
    const [va, vb] = [`imp${this.tag}a`, `imp${this.tag}b`];
    run('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
    for (const [s, v, addr] of [[this.a, va, '10.233.0.1'], [this.b, vb, '10.233.0.2']] as const) {
      run('ip', ['link', 'set', v, 'netns', s.ns]);
      this.ip(s, 'addr', 'add', `${addr}/24`, 'dev', v);
      this.ip(s, 'link', 'set', v, 'up');
    }
    return { a: '10.233.0.1', b: '10.233.0.2' };
  }

  /**
   * A veth pair from the test's own namespace into side s's (a /30 in 10.235.x.0): `inside` is where
   * s's daemons listen for the test, `outside` where they reach the test (a webhook receiver).
   */
  reach(s: Side): { inside: string; outside: string } {
    const n = s === this.a ? 0 : 4;
    const [outside, inside] = [`10.235.${this.subnet}.${n + 1}`, `10.235.${this.subnet}.${n + 2}`];
    const [vo, vi] = [`imh${this.tag}${s === this.a ? 'a' : 'b'}`, `imi${this.tag}${s === this.a ? 'a' : 'b'}`];
    run('ip', ['link', 'add', vo, 'type', 'veth', 'peer', 'name', vi]);
    this.hostVeths.push(vo);
    run('ip', ['link', 'set', vi, 'netns', s.ns]);
    run('ip', ['addr', 'add', `${outside}/30`, 'dev', vo]);
    run('ip', ['link', 'set', vo, 'up']);
    this.ip(s, 'addr', 'add', `${inside}/30`, 'dev', vi);
    this.ip(s, 'link', 'set', vi, 'up');
    return { inside, outside };
  }

  /**
   * Side s's hosts file: `ip netns exec` mounts /etc/netns/<ns>/hosts over /etc/hosts for the programs
   * it starts, so names resolve there (getaddrinfo, as `wg` and Node's dns.lookup do) without touching
   * the machine's /etc/hosts. Rewritten in place, programs already running see the new text.
   */
  setHosts(s: Side, text: string): void {
    mkdirSync(`/etc/netns/${s.ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${s.ns}/hosts`, text);
  }

  /** kill -9 of one side's wireguard-go: its interface goes away (its control socket stays, dead). */
  async kill(s: Side): Promise<void> {
    const p = s.proc;
    s.proc = null;
    if (p === null || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  async close(): Promise<void> {
    await this.kill(this.a);
    await this.kill(this.b);
    for (const s of [this.a, this.b]) {
      // A killed wireguard-go leaves its socket behind, as after a crash.
      rmSync(`/var/run/wireguard/${s.iface}.sock`, { force: true });
      try { run('ip', ['netns', 'del', s.ns]); } catch { /* already gone */ }
      rmSync(`/etc/netns/${s.ns}`, { recursive: true, force: true });
    }
    for (const v of this.hostVeths) {
      try { run('ip', ['link', 'del', v]); } catch { /* went with its namespace */ }
    }
  }
}
