// `npm run bench [-- name…]`: runs the benchmarks, prints each figure, and writes them all as JSON
// (name → number) to bench/results.json (the file README.md names).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decoderBench } from './decoder.js';
import { latencyBench } from './latency.js';
import { pollBench } from './poll.js';
import { e2eBench } from './e2e.js';
import { linkBench } from './link.js';
import { idleBench } from './idle.js';
import { sendBench } from './send.js';
import { assistantBench } from './assistant.js';
import { imsgBench } from './imsg.js';

export type Figures = Record<string, number>;

const BENCHES: Record<string, (log: (name: string, value: number, unit: string) => void) => Promise<void>> = {
  decoder: decoderBench,
  poll: pollBench,
  latency: latencyBench,
  link: linkBench,
  e2e: e2eBench,
  idle: idleBench,
  send: sendBench,
  assistant: assistantBench,
  imsg: imsgBench,
};

const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));
const wanted = process.argv.slice(2);
const figures: Figures = {};
let previous: Figures = {};
try {
  previous = JSON.parse(readFileSync(RESULTS, 'utf8')) as Figures;
} catch {
  previous = {};
}
for (const [name, run] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stdout.write(`\n== ${name}\n`);
  await run((figure, value, unit) => {
    const rounded = Number(value.toPrecision(4));
    figures[figure] = rounded;
    process.stdout.write(`${figure.padEnd(48)} ${String(rounded).padStart(12)} ${unit}\n`);
  });
}
const merged = wanted.length > 0 ? { ...previous, ...figures } : figures;
writeFileSync(RESULTS, `${JSON.stringify(merged, null, 2)}\n`);
process.stdout.write(`\nwrote ${Object.keys(figures).length} figures to bench/results.json\n`);
// Child processes and sockets of the benchmarks are closed; a stray keep-alive handle must not keep
// the script running after the figures are written.
process.exit(0);
