// The idle Mac daemon (compiled, connected to a hub, nothing arriving): CPU share of one core and
// resident memory over 30 s.
import { readFileSync } from 'node:fs';
import { RelayEnv } from '../test/support/relay-env.js';

type Log = (name: string, value: number, unit: string) => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function stat(pid: number): { cpuMs: number; rssMb: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuMs: ticks * 10, rssMb: (rssPages * 4096) / (1024 * 1024) };
}

export async function idleBench(log: Log): Promise<void> {
  const env = new RelayEnv();
  env.compiled = true;
  try {
    // Production defaults: settle 500 ms, poll 1 s, heartbeat 10 s.
    await env.prepare({ macExtra: { reader: {}, link: {} }, hubExtra: { link: {} } });
    env.writer.chat({ guid: 'iMessage;-;+15555550123', identifier: '+15555550123', participants: ['+15555550123'] });
    for (let i = 0; i < 200; i++) env.writer.insert({ chat: 'iMessage;-;+15555550123', handle: '+15555550123', text: `warm-up ${i}` });
    await env.startHub();
    await env.startMac();
    await env.mac!.waitForLog(/^link up$/);
    await sleep(5000);
    const pid = env.mac!.child.pid!;
    const a = stat(pid);
    const seconds = 30;
    await sleep(seconds * 1000);
    const b = stat(pid);
    log('idle.cpu_percent_of_one_core', ((b.cpuMs - a.cpuMs) / (seconds * 1000)) * 100, '%');
    log('idle.rss_mb', b.rssMb, 'MB');
  } finally {
    await env.close();
  }
}
