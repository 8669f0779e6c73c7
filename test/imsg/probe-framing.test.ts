// Contract §11 scenarios 1–23: the file at cliPath, the probe subcommands and the probe request, and
// the JSON-RPC framing with malformed input — against a real hub + relay + simulated Messages.
import assert from 'node:assert/strict';
import { accessSync, constants, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LAUNCHER } from '../support/imsg-build.js';
import { ImsgEnv } from '../support/imsg-env.js';
import { runImsg, type Line } from '../support/imsg-process.js';
import { freePort } from '../support/processes.js';

/** OpenClaw's tokeniser of the cliPath file (contract §1.2): quoted strings or runs of other characters. */
function tokens(text: string): string[] {
  return [...text.matchAll(/"[^"]*"|'[^']*'|[^\s"'`;&|()<>\\]+/g)].map((m) => m[0].replace(/^["']|["']$/g, ''));
}

const PROBE = '{"jsonrpc":"2.0","id":1,"method":"chats.list","params":{"limit":1}}';

describe('imsg-relay: file, probes and framing (contract §11, 1–23)', () => {
  const env = new ImsgEnv();
  before(async () => { await env.start(); });
  after(async () => { await env.stop(); });

  it('1: cliPath is a regular executable file, not named imsg, with no ssh token', () => {
    assert.notEqual(basename(LAUNCHER), 'imsg');
    assert.ok(lstatSync(LAUNCHER).isFile());
    accessSync(LAUNCHER, constants.X_OK);
    const toks = tokens(readFileSync(LAUNCHER, 'utf8'));
    assert.ok(toks.length > 3);
    assert.deepEqual(toks.filter((t) => t === 'ssh' || /^\/.*\/ssh$/.test(t)), []);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['imsg-relay'], 'bin/imsg-relay');
  });

  it('1: the tokeniser used above does find an ssh wrapper (the check can fail)', () => {
    assert.deepEqual(tokens('#!/bin/sh\nexec /usr/bin/ssh -T mac imsg "$@"\n').filter((t) => t === 'ssh' || /^\/.*\/ssh$/.test(t)), ['/usr/bin/ssh']);
  });

  it('2: rpc --help with stdin closed: exit 0 well within 10 s, no "unknown command" + "rpc"', async () => {
    const r = await runImsg(['rpc', '--help'], { IMSG_RELAY_CONFIG: env.configFile });
    assert.equal(r.code, 0);
    assert.ok(r.ms < 10_000);
    const all = (r.stdout + r.stderr).toLowerCase();
    assert.ok(!(all.includes('unknown command') && all.includes('rpc')), all);
  });

  it('3: status --json: last line reports the bridge unavailable and the five methods', async () => {
    const r = await runImsg(['status', '--json'], { IMSG_RELAY_CONFIG: env.configFile });
    assert.equal(r.code, 0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(last['advanced_features'], false);
    assert.equal(last['v2_ready'], false);
    for (const m of ['chats.list', 'messages.history', 'watch.subscribe', 'watch.unsubscribe', 'send']) assert.ok((last['rpc_methods'] as string[]).includes(m), m);
    assert.equal(r.stderr, '');
  });

  it('4, 5: send-rich --help and poll send --help are refused (exit ≠ 0, no --file / --no-comment)', async () => {
    const rich = await runImsg(['send-rich', '--help']);
    assert.notEqual(rich.code, 0);
    assert.ok(!(rich.stdout + rich.stderr).includes('--file'));
    const poll = await runImsg(['poll', 'send', '--help']);
    assert.notEqual(poll.code, 0);
    assert.ok(!(poll.stdout + poll.stderr).includes('--no-comment'));
  });

  it('6, 7: group and send-attachment are unknown commands (exit 64), so OpenClaw falls back to RPC send', async () => {
    const group = await runImsg(['group', '--chat-id', '7', '--json']);
    assert.equal(group.code, 64);
    assert.match(group.stdout + group.stderr, /unknown command/);
    const att = await runImsg(['send-attachment', '--chat', 'iMessage;-;+15551230000', '--file', join(env.dir, 'x.jpg'), '--transport', 'auto', '--json']);
    assert.equal(att.code, 64);
    assert.match(att.stdout + att.stderr, /unknown command/);
  });

  const probe = async (args?: string[]): Promise<Line[]> => {
    const p = env.spawn(args);
    p.write(PROBE);
    const answer = await p.waitFor((l) => l.id === 1, 'the probe answer', 10_000);
    assert.ok(performance.now() - p.spawnedAt < 10_000);
    await p.close();
    assert.deepEqual(p.lines, [answer], 'exactly one line');
    return p.lines;
  };

  const checkProbe = (lines: Line[], wantChat: boolean): void => {
    const chats = lines[0]!.result!['chats'] as Array<{ id: unknown }>;
    assert.ok(Array.isArray(chats) && chats.length <= 1);
    if (wantChat) assert.equal(chats.length, 1);
    for (const c of chats) assert.ok(Number.isSafeInteger(c.id) && (c.id as number) > 0);
  };

  it('8: the probe request (answer, then EOF as OpenClaw does): one chat with a positive integer id, exit 0', async () => {
    checkProbe(await probe(), true);
  });

  it('8: the probe request followed by EOF at once: still exactly one answer line, exit 0', async () => {
    const p = env.spawn();
    p.write(PROBE);
    const exit = await p.close({ early: true });
    assert.equal(exit.code, 0);
    assert.equal(p.lines.length, 1);
    assert.equal(p.lines[0]!.id, 1);
    checkProbe(p.lines, false);
  });

  it('9: rpc --json --db /nonexistent/chat.db behaves like 8', async () => {
    checkProbe(await probe(['rpc', '--json', '--db', '/nonexistent/chat.db']), true);
  });

  it('10: probe while the hub is unreachable: answered from the cache within 10 s', async () => {
    await probe(); // fills the cache
    const deadHub = join(env.dir, 'imsg', 'dead-hub.json');
    const cfg = JSON.parse(readFileSync(env.configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(deadHub, JSON.stringify({ ...cfg, hub: `http://127.0.0.1:${await freePort()}` }));
    const q = env.spawn(undefined, deadHub);
    q.write(PROBE);
    const answer = await q.waitFor((l) => l.id === 1, 'the cached probe answer', 10_000);
    await q.close();
    const chats = answer.result!['chats'] as Array<{ id: number; guid: string }>;
    assert.equal(chats.length, 1);
    assert.ok([7, 9].includes(chats[0]!.id));
    // Without any cache it is still an answer (an empty list passes the probe).
    writeFileSync(deadHub, JSON.stringify({ ...cfg, hub: `http://127.0.0.1:${await freePort()}`, stateDir: join(env.dir, 'imsg', 'empty-state') }));
    const r = env.spawn(undefined, deadHub);
    r.write(PROBE);
    const empty = await r.waitFor((l) => l.id === 1, 'the probe answer without cache', 10_000);
    await r.close();
    assert.deepEqual(empty.result, { chats: [] });
  });

  it('11–21: malformed input gets the right errors, the process keeps reading, ids are echoed', async () => {
    const p = env.spawn();
    p.write('not json');
    const parse = await p.waitFor((l) => (l.error?.code) === -32700, 'the parse error');
    assert.equal(parse.id, null);
    assert.equal(parse.error!.message, 'Parse error');
    assert.ok(Array.isArray((await p.request('chats.list', {}, 15_000, 2)).result!['chats']), '11: a normal result with id 2');
    p.write('[1,2]');
    const batch = await p.waitFor((l) => l.error?.code === -32600 && l.id === null, '12');
    assert.equal(batch.error!.message, 'Invalid Request');
    p.write('{"jsonrpc":"1.0","id":3,"method":"chats.list"}');
    assert.equal((await p.waitFor((l) => l.id === 3, '13')).error!.code, -32600);
    p.write('{"jsonrpc":"2.0","id":4,"params":{}}');
    assert.equal((await p.waitFor((l) => l.id === 4, '14')).error!.code, -32600);
    p.write('{"jsonrpc":"2.0","id":5,"method":"no.such.method","params":{}}');
    assert.deepEqual(await p.waitFor((l) => l.id === 5, '15'), { jsonrpc: '2.0', id: 5, error: { code: -32601, message: 'Method not found', data: 'no.such.method' } });
    p.write('{"jsonrpc":"2.0","id":6,"method":"messages.history","params":{}}');
    assert.equal((await p.waitFor((l) => l.id === 6, '16')).error!.code, -32602);
    p.write('{"jsonrpc":"2.0","id":7,"method":"watch.unsubscribe","params":{}}');
    assert.equal((await p.waitFor((l) => l.id === 7, '17')).error!.code, -32602);
    p.write('{"jsonrpc":"2.0","id":8,"method":"send","params":{"chat_id":7}}');
    const noText = await p.waitFor((l) => l.id === 8, '18a');
    assert.equal(noText.error!.code, -32602);
    assert.match(String(noText.error!.data), /text or file is required/);
    p.write('{"jsonrpc":"2.0","id":9,"method":"send","params":{"to":"+15551230000","chat_id":7,"text":"x"}}');
    const both = await p.waitFor((l) => l.id === 9, '18b');
    assert.equal(both.error!.code, -32602);
    assert.match(String(both.error!.data), /use to or chat_\*; not both/);
    // 19: blank lines give nothing: the next line out is the answer to the request after them.
    const before = p.lines.length;
    p.write('');
    p.write('     ');
    p.write('{"jsonrpc":"2.0","id":"abc","method":"chats.list","params":{}}');
    const abc = await p.waitFor((l) => l.id === 'abc', '20');
    assert.ok(Array.isArray(abc.result!['chats']), '20: id "abc" echoed verbatim');
    assert.equal(p.lines.length, before + 1, '19: no output for blank lines');
    assert.equal(p.lines[before], abc);
    for (const [i, method] of ['typing', 'read', 'tapback', 'send.rich'].entries()) {
      p.write(JSON.stringify({ jsonrpc: '2.0', id: 10 + i, method, params: { chat_id: 7, typing: true } }));
      const r = await p.waitFor((l) => l.id === 10 + i, `21 ${method}`);
      assert.equal(r.error!.code, -32601, method);
      assert.equal(r.error!.data, method);
    }
    await p.close();
  });

  it('22: an idle process at stdin EOF: no output, exit 0 within 500 ms', async () => {
    const p = env.spawn();
    await p.request('watch.unsubscribe', { subscription: 77 }); // started and idle now
    const count = p.lines.length;
    await p.close();
    assert.equal(p.lines.length, count, 'nothing written after EOF');
  });

  it('23: SIGTERM while idle: exits within 500 ms, no partial line', async () => {
    const p = env.spawn();
    await p.request('watch.unsubscribe', { subscription: 78 });
    const exit = await p.signal('SIGTERM');
    assert.ok(exit.afterMs <= 500, `exited ${exit.afterMs.toFixed(0)} ms after SIGTERM`);
    p.assertPure();
  });
});
