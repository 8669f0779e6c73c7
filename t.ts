import { spawn } from 'node:child_process';
import { RelayEnv, SECRET } from './test/support/relay-env.ts';
import { WebhookReceiver } from './test/support/webhook-receiver.ts';
import { encodeAttributedBody } from './relay/simulator/typedstream-writer.ts';
const env = new RelayEnv(); env.compiled = true; env.receiver = new WebhookReceiver(SECRET, true);
await env.prepare({ webhook: { concurrency: 16 }, macExtra: { reader: { settleMs: 50, pollIntervalMs: 1000 } } });
const chats = Array.from({ length: 64 }, (_, i) => `iMessage;-;+1555000${String(i).padStart(4, '0')}`);
for (const c of chats) env.writer.chat({ guid: c, identifier: c.split(';')[2]!, participants: [c.split(';')[2]!] });
const hub = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/prof/hub', 'dist/cli.js', 'hub', '--config', env.hubConfig], { stdio: 'ignore' });
await new Promise(r => setTimeout(r, 800));
const mac = spawn(process.execPath, ['dist/cli.js', 'run', '--config', env.macConfig], { stdio: 'ignore' });
await new Promise(r => setTimeout(r, 1500));
const body = encodeAttributedBody('A typical message of a few words, as people write them.');
const t0 = performance.now();
env.writer.db.transaction(() => { for (let i = 0; i < 20000; i++) env.writer.insert({ chat: chats[i % 64]!, handle: chats[i % 64]!.split(';')[2]!, body }); })();
let last = 0;
while (env.receiver.ids.size < 20000) { await new Promise(r => setTimeout(r, 5)); if (performance.now() - last > 250) { last = performance.now(); const m = await (await fetch(`http://127.0.0.1:${env.apiPort}/metrics`)).text(); const mm = await (await fetch(`http://127.0.0.1:${env.healthPort}/metrics`)).text(); void (((last - t0)/1000).toFixed(2), 'read', /events_read_total\{kind="message"\} (\d+)/.exec(mm)?.[1], 'acked', /events_acked_total (\d+)/.exec(mm)?.[1], 'stored', /events_received_total\{kind="message"\} (\d+)/.exec(m)?.[1], 'hooked', env.receiver.ids.size); } }
console.log('e2e', (20000 / ((performance.now() - t0) / 1000)).toFixed(0), '/s');
for (const c of [mac, hub]) { c.kill('SIGTERM'); await new Promise(r => c.on('exit', r)); }
await env.close();
