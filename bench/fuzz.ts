// `npm run fuzz [-- cases]`: the long decoder fuzz run (default 200,000 cases). Fails on any
// exception that is not a coded RelayError, on a case slower than 250 ms, or when the heap grows
// by more than 64 × the largest input while decoding.
import { RelayError } from '../relay/errors.js';
import { decodeAttributedBody } from '../relay/typedstream/attributed-body.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { fuzzCases, mulberry32 } from '../test/support/fuzz.js';
import { HAVE_FIXTURES, fixture, fixtureText } from '../test/support/fixtures.js';
import { main as fuzzHubLink } from './fuzz-link.js';

const count = Number(process.argv[2] ?? 200_000);
const seeds = [encodeAttributedBody('hello'), encodeAttributedBody('x'.repeat(70_000)),
  encodeAttributedBody('a\uFFFCb', [{ length: 1 }, { length: 1, fileTransferGuid: 'at_0_X' }, { length: 1 }])];
if (HAVE_FIXTURES) {
  for (const e of JSON.parse(fixtureText('attributed-body', 'manifest.json')) as Array<{ file: string }>) seeds.push(fixture('attributed-body', e.file));
}
const codes = new Map<string, number>();
let ok = 0;
let slowest = 0;
let largest = 0;
let worstHeap = 0;
const t0 = performance.now();
let i = 0;
for (const input of fuzzCases(seeds, mulberry32(Number(process.env['FUZZ_SEED'] ?? 1)), count)) {
  largest = Math.max(largest, input.length);
  const heap = i % 1000 === 0 ? process.memoryUsage().heapUsed : 0;
  const t = performance.now();
  try {
    decodeAttributedBody(input);
    ok++;
  } catch (err) {
    if (!(err instanceof RelayError)) {
      process.stderr.write(`case ${i}: non-RelayError ${String(err)}\ninput: ${input.toString('hex')}\n`);
      process.exit(1);
    }
    codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
  }
  const dt = performance.now() - t;
  slowest = Math.max(slowest, dt);
  if (heap !== 0) worstHeap = Math.max(worstHeap, process.memoryUsage().heapUsed - heap);
  if (dt > 250) {
    process.stderr.write(`case ${i} took ${dt.toFixed(1)} ms\n`);
    process.exit(1);
  }
  i++;
}
const s = (performance.now() - t0) / 1000;
process.stdout.write(`${i} cases in ${s.toFixed(1)} s: ${ok} decoded, ${i - ok} rejected ${JSON.stringify(Object.fromEntries(codes))}\n`);
process.stdout.write(`slowest case ${slowest.toFixed(2)} ms; largest input ${largest} bytes; worst sampled heap growth ${(worstHeap / 1024).toFixed(0)} KiB\n`);
if (worstHeap > 64 * largest + 8 * 1024 * 1024) {
  process.stderr.write('heap grew more than 64 × the largest input\n');
  process.exit(1);
}
// Then the link fuzzer, hub side, as many cases (bench/fuzz-link.ts).
await fuzzHubLink(count);
