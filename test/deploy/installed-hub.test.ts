// deploy/install-hub.sh for real (the steps the Docker image runs): `build` into a scratch prefix (or
// the one CI built: IMR_INSTALLED_HUB=<prefix>), `system` from the installed copy, then the installed
// hub started from that prefix as the service user, as the unit and the image run it, and its /health.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { generateKeyPair } from '../../relay/link/keys.js';
import { tempDir, waitFor } from '../support/chatdb-env.js';
import { freePort } from '../support/processes.js';
import { rawLink } from '../support/raw-link.js';

const SCRIPT = fileURLToPath(new URL('../../deploy/install-hub.sh', import.meta.url));
const isRoot = process.getuid?.() === 0;
/** As root (CI, the image) the script makes the real service user; elsewhere the hub runs as whoever runs the test. */
const USER = isRoot ? 'imessage-relay' : userInfo().username;

interface Run { readonly code: number; readonly stdout: string; readonly stderr: string }

function run(file: string, args: readonly string[], opts: { as?: { uid: number; gid: number }; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, ...opts.env }, cwd: opts.cwd, ...opts.as },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }));
  });
}

function idOf(user: string): Promise<{ uid: number; gid: number }> {
  return Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]).then(([u, g]) => {
    assert.equal(u.code, 0, `no user ${user}: ${u.stderr}`);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  });
}

/** The installed hub as a child process, its JSON log lines collected from stdout. */
function startHub(prefix: string, config: string, as: { uid: number; gid: number } | undefined, cwd: string): { child: ChildProcess; started: Promise<void>; exited: Promise<number | null>; out: () => string } {
  const child = spawn(process.execPath, [join(prefix, 'bin', 'imessage-relay.js'), 'hub', '--config', config], { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (out.split('\n').some((l) => { try { return (JSON.parse(l) as { msg?: string }).msg === 'hub started'; } catch { return false; } })) {
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`the installed hub exited ${code} before starting: ${out.slice(-2000)}`)));
  });
  return { child, started, exited, out: () => out };
}

async function health(apiPort: number): Promise<{ status: number; body: { status: string } }> {
  const r = await fetch(`http://127.0.0.1:${apiPort}/health`);
  return { status: r.status, body: await r.json() as { status: string } };
}

describe('deploy/install-hub.sh and the hub it installs', () => {
  it('installs a built, dev-free, read-only package and a 0700 state folder for the service user; the installed hub serves /health (200 once its Mac is linked) and the healthcheck follows it', { timeout: 20 * 60_000 }, async (t) => {
    const tmp = tempDir('imr-install-');
    chmodSync(tmp.dir, 0o755); // the service user walks through it to the prefix
    let hub: ReturnType<typeof startHub> | null = null;
    try {
      let prefix = process.env['IMR_INSTALLED_HUB'];
      if (prefix === undefined || prefix === '') {
        prefix = join(tmp.dir, 'opt');
        const built = await run('bash', [SCRIPT, 'build', '--prefix', prefix], { timeoutMs: 18 * 60_000 });
        assert.equal(built.code, 0, `install-hub.sh build failed: ${built.stdout.slice(-2000)}${built.stderr.slice(-2000)}`);
      } else t.diagnostic(`the prefix CI installed: ${prefix}`);

      // What build left: the compiled CLI and production dependencies only, nobody else may change a file.
      assert.ok(existsSync(join(prefix, 'dist', 'cli.js')), 'dist/ built');
      assert.ok(existsSync(join(prefix, 'node_modules', 'better-sqlite3')), 'production dependencies installed');
      for (const dev of ['typescript', 'tsx', '@types/node', 'yaml']) assert.ok(!existsSync(join(prefix, 'node_modules', dev)), `dev dependency ${dev} dropped`);
      assert.ok(!existsSync(join(prefix, 'relay')), 'the TypeScript sources are not shipped');
      for (const p of ['.', 'dist/cli.js', 'bin/imessage-relay.js', 'node_modules']) assert.equal(statSync(join(prefix, p)).mode & 0o022, 0, `${p} writable by group or others`);

      // system, from the installed copy of the script (the image's final stage has only that one).
      const state = join(tmp.dir, 'state');
      const sys = await run('bash', [join(prefix, 'deploy', 'install-hub.sh'), 'system', '--prefix', prefix, '--state-dir', state, '--user', USER]);
      assert.equal(sys.code, 0, sys.stderr);
      const id = await idOf(USER);
      assert.notEqual(id.uid, 0, 'not root');
      assert.equal(statSync(state).mode & 0o777, 0o700);
      assert.equal(statSync(state).uid, id.uid);
      const as = isRoot ? id : undefined;

      // The admin's first steps, with the installed CLI as the service user: init, then the Mac's key.
      const [linkPort, apiPort] = [await freePort(), await freePort()];
      const config = join(state, 'hub.json');
      const cli = join(prefix, 'bin', 'imessage-relay.js');
      const init = await run(process.execPath, [cli, 'init', '--hub', '--account', 'alice', '--link', `127.0.0.1:${linkPort}`, '--api', `127.0.0.1:${apiPort}`, '--data-dir', state, '--config', config], { as, cwd: state });
      assert.equal(init.code, 0, init.stderr);
      const relay = generateKeyPair();
      const json = JSON.parse(readFileSync(config, 'utf8')) as { relays: unknown[] };
      json.relays = [{ account: 'alice', publicKey: Buffer.from(relay.publicKey).toString('base64') }];
      writeFileSync(config, JSON.stringify(json));

      hub = startHub(prefix, config, as, state);
      await hub.started;
      assert.equal(statSync(join(state, 'hub.db')).uid, id.uid, 'the store belongs to the service user');
      const healthcheck = (): Promise<Run> => run(process.execPath, [join(prefix, 'deploy', 'healthcheck.mjs')], { env: { IMR_HEALTH_URL: `http://127.0.0.1:${apiPort}/health` } });

      const alone = await health(apiPort);
      assert.deepEqual([alone.status, alone.body.status], [503, 'degraded'], 'no Mac yet');
      const hc1 = await healthcheck();
      assert.equal(hc1.code, 0, 'a hub waiting for its Mac is alive: the container is healthy');
      assert.match(hc1.stdout, /answered 503 degraded: relays degraded \(1 of 1 relays not connected\)/);

      const link = await rawLink(`ws://127.0.0.1:${linkPort}`, relay);
      try {
        link.send(link.seal({ t: 'hello', v: 1, agent: 'alice', store: 'installed-hub-test', cmd_acked: 0 }));
        await waitFor(() => link.received.some((m) => m.t === 'welcome'), 'the hub\'s welcome', 15_000);
        const h = await health(apiPort);
        assert.deepEqual([h.status, h.body.status], [200, 'ok'], 'the installed hub, its Mac linked, answers 200');
        const hc2 = await healthcheck();
        assert.equal(hc2.code, 0);
        assert.match(hc2.stdout, /answered 200 ok$/m);
      } finally { link.ws.close(); }

      hub.child.kill('SIGTERM');
      assert.equal(await hub.exited, 0, `a clean stop: ${hub.out().slice(-1000)}`);
      hub = null;
      const hc3 = await healthcheck();
      assert.equal(hc3.code, 1, 'no hub, unhealthy');
      assert.match(hc3.stdout, /no answer \(ECONNREFUSED\)/);
    } finally {
      if (hub !== null) { hub.child.kill('SIGKILL'); await hub.exited; }
      tmp.cleanup();
    }
  });
});
