// The Node this suite runs under (20 here; 24 in .ci/node24.sh, as on OpenClaw's machine): package.json's
// engines admit it, and a real hub and relay started with it as child processes carry a message end to end.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ALICE, DM, RelayEnv } from '../support/relay-env.js';

/** True when `version` (x.y.z) is in an npm range made of `||`-joined `>=a <b` pairs (the forms engines uses here). */
function admits(range: string, version: string): boolean {
  const v = version.split('.').map(Number);
  const cmp = (a: number[], b: number[]): number => { for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0); return 0; };
  return range.split('||').some((part) => part.trim().split(/\s+/).every((c) => {
    const m = /^(>=|<=|>|<|=)?(\d+(?:\.\d+){0,2})$/.exec(c);
    assert.ok(m !== null, `an engines comparator this test reads: ${c}`);
    const d = cmp(v, m[2]!.split('.').map(Number));
    return ({ '>=': d >= 0, '<=': d <= 0, '>': d > 0, '<': d < 0, '=': d === 0, '': d === 0 } as Record<string, boolean>)[m[1] ?? '']!;
  }));
}

describe(`the hub under Node ${process.versions.node}`, () => {
  it('package.json admits this Node, and Node 20 and 24 both (the Mac, and the machine OpenClaw runs on)', (t) => {
    t.diagnostic(`node ${process.version} (${process.execPath})`);
    const expected = process.env['IMR_EXPECT_NODE_MAJOR'];
    if (expected !== undefined) assert.equal(process.versions.node.split('.')[0], expected, 'the run meant for this Node is on it');
    const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;
    assert.ok(admits(engines, process.versions.node), `engines "${engines}" admits ${process.versions.node}`);
    for (const v of ['20.19.0', '24.16.0', '24.21.0']) assert.ok(admits(engines, v), `engines "${engines}" admits ${v}`);
    for (const v of ['18.20.0', '22.12.0', '25.0.0']) assert.ok(!admits(engines, v), `engines "${engines}" refuses ${v} (untested)`);
  });

  it('better-sqlite3 is not a build that aborts on this Node (Node 24: compiled against headers without ObjectWrap cleanup hooks)', () => {
    const addon = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    const binary = readFileSync(addon);
    assert.ok(binary.includes('AddEnvironmentCleanupHook'), `${addon} is the addon (it registers its own cleanup hook)`);
    assert.ok(!binary.includes('RemoveEnvironmentCleanupHook'),
      `${addon} was compiled against Node 24.19+ headers: it aborts when a statement is collected outside JavaScript; rebuild it with deploy/sqlite-node24.sh`);
  });

  it('a hub and a relay run with this Node carry a message to the webhook, and the hub reports ok', async () => {
    const env = new RelayEnv();
    try {
      await env.prepare();
      env.writer.chat({ guid: DM, identifier: ALICE, participants: [ALICE] });
      await env.startLinked();
      const guid = await env.marker(DM);
      assert.equal(env.receiver.received.filter((r) => r.body.event['guid'] === guid).length, 1);
      const health = await env.api('/health');
      assert.equal(health.status, 200);
      assert.equal((await health.json() as { status: string }).status, 'ok');
    } finally { await env.close(); }
  });
});
