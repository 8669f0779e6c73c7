// No container daemon runs here, so the Dockerfile and compose file are read as Docker reads them and
// held to what the image must be: sources that exist and pass .dockerignore, every step in
// deploy/install-hub.sh, a non-root user, a HEALTHCHECK on /health, the hub's own ports and the store on a volume.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseHubConfig } from '../../relay/config/hub-config.js';
import { ConfigNode } from '../../relay/config/validate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Instruction { readonly op: string; readonly args: string; readonly stage: number }

/** Dockerfile instructions: comments dropped, `\` continuations joined, each tagged with its stage (FROM count). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    if (pending === '' && /^\s*#/.test(raw)) continue;
    if (pending !== '' && /^\s*#/.test(raw)) continue; // comment lines inside a continuation are skipped too
    const line = pending + raw.trim();
    if (line.endsWith('\\')) { pending = `${line.slice(0, -1).trimEnd()} `; continue; }
    pending = '';
    if (line === '') continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(m !== null, `not an instruction: ${line}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!, stage });
  }
  assert.equal(pending, '', 'a continuation runs off the end');
  return out;
}

/** The JSON (exec) form's argv, or the shell form split on spaces. */
const argv = (args: string): string[] => (args.startsWith('[') ? JSON.parse(args) as string[] : args.split(/\s+/));

/** True when .dockerignore keeps `path` in the build context (the last matching rule wins, as in Docker). */
function inContext(path: string, rules: readonly string[]): boolean {
  let kept = true;
  for (const rule of rules) {
    const negate = rule.startsWith('!');
    const pattern = (negate ? rule.slice(1) : rule).replace(/\/$/, '');
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
    if (re.test(path)) kept = negate;
  }
  return kept;
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const last = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === last);
const hubDefaults = parseHubConfig(ConfigNode.root({ api: { tokenEnv: 'T' }, relays: [{ account: 'a', publicKey: 'k' }] }, '/x.json'), '/etc/hub.json', { T: '0123456789abcdef' });
/** `--flag value` out of an install-hub.sh call. */
const flag = (call: readonly string[], name: string): string | undefined => { const i = call.indexOf(name); return i < 0 ? undefined : call[i + 1]; };

describe('Dockerfile', () => {
  it('builds on node:20-slim in stages and every COPY source exists in the repository and in the build context', () => {
    const froms = dockerfile.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const f of froms) assert.equal(f, 'node:20-slim');
    const copies = dockerfile.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    assert.ok(copies.length > 0);
    for (const c of copies) {
      const parts = argv(c.args).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: no such file in the repository`);
        assert.ok(inContext(src.replace(/^\.\//, '').replace(/\/$/, ''), ignore), `COPY ${src}: left out of the build context by .dockerignore`);
      }
    }
    // What the install script copies into the prefix must all be in the build stage.
    const script = readFileSync(join(ROOT, 'deploy/install-hub.sh'), 'utf8');
    const items = /for item in ([^;]+); do/.exec(script)![1]!.trim().split(/\s+/);
    const copied = copies.filter((c) => c.stage === 0).flatMap((c) => argv(c.args).filter((p) => !p.startsWith('--')).slice(0, -1).map((p) => p.replace(/\/$/, '')));
    for (const item of items) assert.ok(copied.includes(item), `install-hub.sh copies ${item}, which the build stage does not COPY`);
  });

  it('runs nothing but deploy/install-hub.sh: build in the first stage, system in the last', () => {
    const runs = dockerfile.filter((i) => i.op === 'RUN');
    assert.ok(runs.length >= 2);
    for (const r of runs) assert.match(r.args, /^(\.\/deploy|\/opt\/imessage-relay\/deploy)\/install-hub\.sh (build|system) /, `RUN ${r.args}`);
    assert.match(runs.find((r) => r.stage === 0)!.args, / build /);
    assert.match(runs.find((r) => r.stage === last)!.args, / system /);
    assert.ok(statSync(join(ROOT, 'deploy/install-hub.sh')).mode & 0o111, 'the script is executable');
  });

  it('runs as the non-root user the script made, with the store on a volume and the config inside it', () => {
    const system = argv(final.find((i) => i.op === 'RUN')!.args);
    const user = final.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user !== undefined, 'USER set in the final stage');
    assert.ok(!/^(root|0)(:|$)/.test(user), `USER ${user} is not root`);
    assert.deepEqual(user.split(':'), [flag(system, '--uid'), flag(system, '--uid')], 'USER is the uid:gid install-hub.sh gives the user and group it creates');
    const volumes = final.filter((i) => i.op === 'VOLUME').flatMap((i) => argv(i.args));
    const state = flag(system, '--state-dir')!;
    assert.deepEqual(volumes, [state], 'the state folder, and only it, is a volume');
    const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    assert.match(env, new RegExp(`IMESSAGE_RELAY_CONFIG=${state}/hub\\.json`), 'init and hub find hub.json in the volume');
    assert.equal(final.find((i) => i.op === 'WORKDIR')?.args, state);
    assert.deepEqual(argv(final.find((i) => i.op === 'ENTRYPOINT')!.args), ['node', `${flag(system, '--prefix')}/bin/imessage-relay.js`]);
    assert.deepEqual(argv(final.find((i) => i.op === 'CMD')!.args), ['hub']);
  });

  it('HEALTHCHECK runs the installed healthcheck against /health on the hub\'s API port, and EXPOSE is the hub\'s default ports', () => {
    const hc = final.find((i) => i.op === 'HEALTHCHECK')!;
    assert.ok(hc !== undefined, 'a HEALTHCHECK');
    const cmd = argv(hc.args.slice(hc.args.indexOf('CMD ') + 4).trim());
    assert.deepEqual(cmd, ['node', '/opt/imessage-relay/deploy/healthcheck.mjs']);
    const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    assert.match(env, new RegExp(`IMR_HEALTH_URL=http://127\\.0\\.0\\.1:${hubDefaults.api.port}/health(\\s|$)`));
    const exposed = final.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map(Number).sort();
    assert.deepEqual(exposed, [hubDefaults.listen.port, hubDefaults.api.port].sort());
  });
});

describe('compose.yaml', () => {
  const file = join(ROOT, 'deploy/compose.yaml');
  const compose = parseYaml(readFileSync(file, 'utf8')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; ports?: string[]; volumes?: string[]; env_file?: Array<{ path: string; required: boolean }>;
      depends_on?: Record<string, { condition: string }>; environment?: Record<string, string>; stop_grace_period?: string }>;
    volumes: Record<string, unknown>;
  };
  const system = argv(final.find((i) => i.op === 'RUN')!.args);

  it('builds the hub from this Dockerfile, publishes the link on the tunnel address and the API on loopback only, the store on a named volume', () => {
    const hub = compose.services['hub']!;
    assert.equal(resolve(join(ROOT, 'deploy'), hub.build!.context), resolve(ROOT));
    assert.ok(existsSync(join(resolve(join(ROOT, 'deploy'), hub.build!.context), hub.build!.dockerfile)));
    const ports = hub.ports!.map((p) => { const parts = p.split(':'); return { host: parts.slice(0, -2).join(':'), published: Number(parts.at(-2)), target: Number(parts.at(-1)) }; });
    assert.deepEqual(ports.map((p) => p.target).sort(), [hubDefaults.listen.port, hubDefaults.api.port].sort());
    assert.equal(ports.find((p) => p.target === hubDefaults.api.port)!.host, '127.0.0.1', 'the API is not published beyond the host');
    assert.equal(ports.find((p) => p.target === hubDefaults.listen.port)!.host, '${IMR_LINK_ADDRESS:-10.8.0.1}', 'the link on the tunnel address');
    const [volume, mount] = hub.volumes![0]!.split(':');
    assert.equal(mount, flag(system, '--state-dir'));
    assert.ok(volume! in compose.volumes, 'a named volume');
    assert.ok(Number(/^(\d+)s$/.exec(hub.stop_grace_period!)![1]) > 8, 'longer than the hub\'s own 8 s stop');
  });

  it('starts the assistant once the hub is healthy, pointed at the API over the compose network, with example env files for both', () => {
    const assistant = compose.services['assistant']!;
    assert.deepEqual(assistant.depends_on, { hub: { condition: 'service_healthy' } });
    assert.equal(assistant.environment!['IMR_HUB_URL'], `http://hub:${hubDefaults.api.port}`);
    for (const s of ['hub', 'assistant']) {
      for (const e of compose.services[s]!.env_file ?? []) {
        assert.ok(existsSync(join(ROOT, 'deploy', `${e.path}.example`)), `${e.path}.example documents ${s}'s env file`);
        assert.match(readFileSync(join(ROOT, '.gitignore'), 'utf8'), /^deploy\/\*\.env$/m, 'the real env files are never committed');
      }
    }
  });
});
